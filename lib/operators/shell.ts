// shell(cmds, {cwd, env, timeout}) runs /bin/sh -c on the agent, or, given a
// list of words, runs that argv with no shell at all (nothing in the words is
// ever interpreted: the safe way to pass addresses, facts and other claims);
// serverShell(name, args) runs a command the master declares (server/NAME of
// its fileroot) with JSON arguments (an RPC the agent wires in).
// `rc` is the exit status, `output` stdout+stderr, `changed` true unless the
// `changed` option says otherwise. It does not run when `creates` exists,
// `removes` does not, `unless` succeeds or `onlyIf` fails: those are checked
// while planning (paths under --path, commands through the read-only probe),
// so a dry run says whether it would run.
// On timeout the whole process group is killed and the error says so.

import type { ShellOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { destination } from "./_paths.ts";
import { quote } from "./quote.ts";
import type { Change, OpCtx, Operator } from "./types.ts";

/** The first line of the commands, short: for the Result's cmd. An argv is shown as /bin/sh would need it. */
function brief(cmds: unknown): string {
  const s =
    Array.isArray(cmds) && cmds.every((w) => typeof w === "string") ? quote(...cmds) : String(cmds);
  const first = s.split("\n")[0]!;
  return first.length > 80 || first !== s ? `${first.slice(0, 80)}…` : first;
}

/** shell(["prog", "arg"]): the words as they are, no /bin/sh. */
function argvOf(cmds: unknown): string[] {
  if (Array.isArray(cmds)) {
    if (!cmds.length || cmds.some((w) => typeof w !== "string") || cmds[0] === "")
      throw new SaltyError(
        "an argv must be a non-empty list of strings, the program first",
        "E_ARG",
      );
    if (cmds.some((w: string) => w.includes("\0")))
      throw new SaltyError("an argv word contains a NUL byte", "E_ARG");
    return cmds;
  }
  if (typeof cmds !== "string" || cmds.trim() === "")
    throw new SaltyError(
      "commands must be a non-empty string (or an argv: a list of strings)",
      "E_ARG",
    );
  return ["/bin/sh", "-c", cmds];
}

/** The name of a master command: a plain file name of server/ (the master checks it again). */
const SERVER_COMMAND = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function execChange(cmds: unknown, opts: ShellOpts, pathPrefix: string): Change {
  const argv = argvOf(cmds);
  if (opts.cwd !== undefined && typeof opts.cwd !== "string")
    throw new SaltyError("cwd must be a string", "E_ARG");
  if (opts.env !== undefined && (typeof opts.env !== "object" || opts.env === null))
    throw new SaltyError("env must be an object", "E_ARG");
  if (opts.timeout !== undefined && (typeof opts.timeout !== "number" || !(opts.timeout > 0)))
    throw new SaltyError("timeout must be a positive number of seconds", "E_ARG");
  // $SALTY_PATH_PREFIX: the agent's --path (empty without), so that a command can stay inside the sandbox; the role's env may not set it.
  const env = {
    ...(opts.env
      ? Object.fromEntries(Object.entries(opts.env).map(([k, v]) => [k, String(v)]))
      : {}),
    SALTY_PATH_PREFIX: pathPrefix,
  };
  return {
    kind: "exec",
    argv,
    report: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env,
    ...(opts.timeout ? { timeoutMs: Math.round(opts.timeout * 1000) } : {}),
  };
}

/** An unless/onlyIf condition: a command line for /bin/sh, or an argv. */
function conditionArgv(value: unknown, what: string): string[] {
  if (Array.isArray(value)) {
    if (
      !value.length ||
      value.some((w) => typeof w !== "string" || w.includes("\0")) ||
      value[0] === ""
    )
      throw new SaltyError(
        `${what} must be a command line or a non-empty list of strings`,
        "E_ARG",
      );
    return value;
  }
  if (typeof value !== "string" || value.trim() === "" || value.includes("\0"))
    throw new SaltyError(`${what} must be a command line or a non-empty list of strings`, "E_ARG");
  return ["/bin/sh", "-c", value];
}

/** Why the command need not run (creates, removes, unless, onlyIf), or undefined: it runs. Reads only; exact in a dry run. */
async function skipReason(ctx: OpCtx, opts: ShellOpts): Promise<string | undefined> {
  if (opts.creates !== undefined) {
    const dest = destination(ctx, opts.creates, "creates");
    if (await ctx.observe.lstat(dest.real)) return `${dest.path} exists (creates)`;
  }
  if (opts.removes !== undefined) {
    const dest = destination(ctx, opts.removes, "removes");
    if (!(await ctx.observe.lstat(dest.real))) return `${dest.path} does not exist (removes)`;
  }
  // The shell's cwd and timeout apply to its conditions too; its env does not (a probe runs in the agent's, LC_ALL=C).
  const cwd = {
    ...(typeof opts.cwd === "string" ? { cwd: opts.cwd } : {}),
    ...(typeof opts.timeout === "number" && opts.timeout > 0
      ? { timeoutMs: Math.round(opts.timeout * 1000) }
      : {}),
  };
  if (opts.unless !== undefined) {
    const argv = conditionArgv(opts.unless, "unless");
    if ((await ctx.probe.run(argv, cwd)).rc === 0) return `unless: ${brief(opts.unless)} succeeded`;
  }
  if (opts.onlyIf !== undefined) {
    const argv = conditionArgv(opts.onlyIf, "onlyIf");
    const r = await ctx.probe.run(argv, cwd);
    if (r.rc !== 0) return `onlyIf: ${brief(opts.onlyIf)} failed (rc ${r.rc})`;
  }
  return undefined;
}

export const shell: Operator<[cmds: string | string[], opts?: ShellOpts]> = {
  describe: (cmds) => `shell(${brief(cmds)})`,
  async plan(ctx: OpCtx, cmds, opts = {}) {
    const change = execChange(cmds, opts, ctx.pathPrefix);
    if (opts.changed !== undefined && opts.changed !== false && typeof opts.changed !== "function")
      throw new SaltyError(
        "changed must be false or a function of the result ({ rc, output }) => boolean",
        "E_ARG",
      );
    const skip = await skipReason(ctx, opts);
    if (skip) return { changes: [], note: `not run: ${skip}` };
    if (opts.changed === false)
      return {
        changes: [change],
        changed: false,
        note: "changed: false: running it is not a change",
      };
    return { changes: [change], ...(opts.changed ? { changed: opts.changed } : {}) };
  },
};

/** serverShell(name, args, {timeout}): a command the master declares (server/NAME); `args` is JSON. */
export const serverShell: Operator<[name: string, args?: unknown, opts?: { timeout?: number }]> = {
  describe: (name, args) =>
    `serverShell(${brief(name)}${args === undefined ? "" : `, ${brief(JSON.stringify(args))}`})`,
  async plan(ctx: OpCtx, name, args, opts = {}) {
    if (!ctx.serverShell) throw new SaltyError("serverShell is not available", "E_NO_SERVER_SHELL");
    if (typeof name !== "string" || !SERVER_COMMAND.test(name)) {
      throw new SaltyError(
        `serverShell names a command the master declares (an executable server/NAME of its fileroot), not a command line: ${brief(name)}`,
        "E_ARG",
      );
    }
    if (args !== undefined && JSON.stringify(args) === undefined)
      throw new SaltyError("serverShell args must be JSON data", "E_ARG");
    if (opts.timeout !== undefined && (typeof opts.timeout !== "number" || !(opts.timeout > 0)))
      throw new SaltyError("timeout must be a positive number of seconds", "E_ARG");
    // Through JSON: what reaches the master is exactly what the role would see printed.
    const json = args === undefined ? {} : { args: JSON.parse(JSON.stringify(args)) as unknown };
    return {
      changes: [
        {
          kind: "exec",
          argv: [name],
          on: "master",
          report: true,
          ...json,
          ...(opts.timeout ? { timeoutMs: Math.round(opts.timeout * 1000) } : {}),
        },
      ],
    };
  },
};
