// Type tests, checked by `npm run typecheck` (never run): defineRole's vars
// take the types of their defaults and refuse a var without one; the context
// has `args`, `dryRun` and `path()` and no index signature, so a name that is
// not there is an error. Each @ts-expect-error fails the typecheck if the line
// below it ever type-checks.
import { defineRole, type Role } from "salty";

export const typed = defineRole(
  { defaults: { port: 8080, server_name: "_", tls: false, upstreams: ["10.0.0.1"] } },
  async ({ file, path, dryRun, args }, vars) => {
    const port: number = vars.port;
    const name: string = vars.server_name;
    const tls: boolean = vars.tls;
    const first: string | undefined = vars.upstreams[0];
    // @ts-expect-error a var that has no default is not there
    const missing = vars.workers;
    // @ts-expect-error the port's type is its default's: a number, not a string
    const wrong: string = vars.port;
    // @ts-expect-error vars are read-only
    vars.port = 1;
    const where: string = path("/etc/app.conf");
    const dry: boolean = dryRun;
    const version = args.version;
    await file(where, {
      content: `${name}:${port} ${tls} ${first} ${dry} ${String(version)} ${String(missing)} ${wrong}\n`,
    });
  },
);

export const plain: Role = async ({ id, args }) => {
  const v: string | number | boolean | string[] | undefined = args.version;
  void [id, v];
};

// @ts-expect-error an apply argument is reached through args, not as a name of the context
export const old: Role = async ({ version }) => void version;

// @ts-expect-error defaults must be given
export const noDefaults = defineRole({}, async () => {});
