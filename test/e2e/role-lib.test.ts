// Roles that share code: local modules under roles/lib/, imported relatively,
// shipped by the master with the role and evaluated on the agent (compiled
// binary, real master and agent). A changed module is used at the next apply
// (content-hashed cache); a missing module, a path out of roles/lib/ and a
// symlink out of it fail the role with a clear message, nothing of them runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default { hosts: { lab: { web1: { env: "dev", roles: ["web", "missing", "escape", "linked", "ctx"], vars: { port: 9090 } } } } };\n`,
  "roles/lib/paths.ts": `export const base = "/etc/app";\n`,
  "roles/lib/conf.ts": `import { base } from "./paths.ts";
export function confLine(port: number): string { return "port=" + port; }
export const confPath = base + "/app.conf";
`,
  "roles/lib/helpers.ts": `import type { Operators } from "salty";
export async function ensure(ops: Pick<Operators, "lineInFile">, line: string, path: string) { return ops.lineInFile(line, path); }
`,
  "roles/web.ts": `import type { Role } from "salty";
import { confLine, confPath } from "./lib/conf.ts";
import { ensure } from "./lib/helpers";
export default (async (ctx) => {
  if (ctx.which !== "web") return;
  await ensure(ctx, confLine(8080), confPath);
}) satisfies Role;
`,
  // defineRole (the run-time import of "salty"), args, dryRun, path() and $SALTY_PATH_PREFIX.
  "roles/ctx.ts": `import { defineRole } from "salty";
import { existsSync } from "node:fs";
export default defineRole({ defaults: { port: 8080, name: "app" } }, async ({ file, shell, path, dryRun, args, print }, vars) => {
  if (args.which !== "ctx") return;
  await file("/etc/ctx/app.conf", { content: vars.name + ":" + vars.port + " v=" + String(args.version) + "\\n" });
  print("dry=" + dryRun + " exists=" + existsSync(path("/etc/ctx/app.conf")));
  const r = await shell('printf %s "$SALTY_PATH_PREFIX"', { changed: false });
  print("prefix=" + (r.output ?? "(not run)"));
});
`,
  "roles/missing.ts": `import type { Role } from "salty";
import { nothing } from "./lib/nothing.ts";
export default (async ({ which, lineInFile }) => {
  if (which !== "missing") return;
  await lineInFile(String(nothing), "/etc/missing.conf");
}) satisfies Role;
`,
  "roles/escape.ts": `import type { Role } from "salty";
import passwd from "../../etc/passwd";
export default (async ({ which, lineInFile }) => {
  if (which !== "escape") return;
  await lineInFile(String(passwd), "/etc/escape.conf");
}) satisfies Role;
`,
  "roles/linked.ts": `import type { Role } from "salty";
import { secret } from "./lib/outside.ts";
export default (async ({ which, lineInFile }) => {
  if (which !== "linked") return;
  await lineInFile(String(secret), "/etc/linked.conf");
}) satisfies Role;
`,
};

let w: World;
const apply = (...args: string[]) => w.salty(["apply", "-vv", "--keyroot", w.keyroot, ...args]);

beforeAll(async () => {
  w = await world({ files });
  // A module whose real path is outside roles/lib/: never read by the master.
  writeFileSync(join(w.dir, "outside.ts"), `export const secret = "master-only";\n`);
  symlinkSync(join(w.dir, "outside.ts"), join(w.fileroot, "roles/lib/outside.ts"));
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("web1");
  await w.waitHosts(["web1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

describe("roles/lib", () => {
  test("a role importing modules of roles/lib/ (which import each other) runs; a changed module is used at the next apply", async () => {
    const r = await apply("roles=web", "which=web");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(w.sandbox("web1"), "etc/app/app.conf"), "utf8")).toBe("port=8080\n");
    const again = await apply("roles=web", "which=web");
    expect(again.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);

    writeFileSync(
      join(w.fileroot, "roles/lib/conf.ts"),
      readFileSync(join(w.fileroot, "roles/lib/conf.ts"), "utf8").replace(
        '"port=" + port',
        '"listen=" + port',
      ),
    );
    const changed = await apply("roles=web", "which=web");
    expect(changed.code, changed.stdout + changed.stderr).toBe(0);
    expect(readFileSync(join(w.sandbox("web1"), "etc/app/app.conf"), "utf8")).toBe(
      "port=8080\nlisten=8080\n",
    );
  });

  test("a missing module, a path out of roles/lib/ and a symlink out of it: the role fails with a clear message, nothing runs", async () => {
    for (const [role, message] of [
      [
        "missing",
        'roles/missing.ts:2: imports "./lib/nothing.ts": no such module roles/lib/nothing.ts in the fileroot',
      ],
      [
        "escape",
        'roles/escape.ts:2: imports "../../etc/passwd": only node:* built-ins may be imported at run time, and .ts modules under roles/lib/ relatively (this is ../etc/passwd.ts)',
      ],
      [
        "linked",
        'roles/linked.ts:2: imports "./lib/outside.ts": no such module roles/lib/outside.ts in the fileroot',
      ],
    ] as const) {
      const r = await apply(`roles=${role}`, `which=${role}`);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toContain(JSON.stringify(message).slice(1, -1));
      expect(r.stdout + r.stderr).not.toContain("master-only");
    }
  });

  test("defineRole: the host's vars over the defaults; args, dryRun, path() and $SALTY_PATH_PREFIX, in a dry run and for real", async () => {
    const dry = await apply("--dry-run", "roles=ctx", "which=ctx", "version=7");
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain("dry=true exists=false");
    expect(dry.stdout).toContain("prefix=not run (dry run)");
    const r = await apply("roles=ctx", "which=ctx", "version=7");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(w.sandbox("web1"), "etc/ctx/app.conf"), "utf8")).toBe(
      "app:9090 v=7\n",
    );
    expect(r.stdout).toContain("dry=false exists=true");
    expect(r.stdout).toContain(`prefix=${w.sandbox("web1")}`);
  });
});
