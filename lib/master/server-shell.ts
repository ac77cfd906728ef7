// serverShell on the master: a role names a command that the fileroot declares
// (the executable `server/NAME`) and gives it JSON arguments; nothing else. The
// agent chooses neither the program, nor its working directory (the fileroot),
// nor its environment (the master's, plus SALTY_ARGS, SALTY_AGENT, SALTY_ROLE):
// an accepted agent is a host that may be compromised. The arguments reach the
// command as $SALTY_ARGS (JSON) and, when they are a list of strings and
// numbers, as its argv too; no shell is involved. Every call is logged with the
// agent, the role and the command. Only reached when the master runs with
// --allow-server-shell and the asking agent has a role running (agent-session.ts).

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Result } from "salty";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import type { Exec, ServerCommandRequest } from "../sys/types.ts";
import { obj, str } from "../wire/check.ts";
import { resolveUnder } from "./fileserver.ts";

/** Who asks: the authenticated agent id (the role is checked against its apply). */
export interface ServerShellCaller {
  id: string;
}

export type ServerShell = (req: ServerCommandRequest, caller: ServerShellCaller) => Promise<Result>;

/** A command's name: one plain file name of server/, never a path, never a dot file. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The JSON arguments of one call: small (they travel in a frame and into an environment variable). */
const MAX_ARGS_BYTES = 64 * 1024;

/** JSON data only: what msgpack can carry besides (bytes, NaN, undefined in lists) is refused. */
function checkJson(v: unknown, at: string, depth = 0): void {
  if (depth > 32) throw new SaltyError(`${at} is nested too deeply`, "E_PARAMS");
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new SaltyError(`${at} must be a finite number`, "E_PARAMS");
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJson(x, `${at}[${i}]`, depth + 1));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      checkJson(x, `${at}.${k}`, depth + 1);
    return;
  }
  throw new SaltyError(
    `${at} must be JSON data, got ${v instanceof Uint8Array ? "bytes" : typeof v}`,
    "E_PARAMS",
  );
}

/** A server.shell request from an agent, every field checked; `roles` are those of its apply in progress. */
export function serverCommandRequest(p: unknown, roles: ReadonlySet<string>): ServerCommandRequest {
  const o = obj(p, "params");
  const name = str(o.name, "name");
  if (!NAME.test(name))
    throw new SaltyError(
      `serverShell names a command of the master's server/ directory, not ${JSON.stringify(name.slice(0, 80))}`,
      "E_PARAMS",
    );
  const role = str(o.role, "role");
  if (!roles.has(role))
    throw new SaltyError(
      `serverShell from role ${JSON.stringify(role.slice(0, 80))}, which is not one of this host's roles in this apply`,
      "E_DENIED",
    );
  const req: ServerCommandRequest = { name, role };
  if (o.args !== undefined) {
    checkJson(o.args, "args");
    const size = Buffer.byteLength(JSON.stringify(o.args));
    if (size > MAX_ARGS_BYTES)
      throw new SaltyError(
        `args of ${size} bytes exceed the limit of ${MAX_ARGS_BYTES}`,
        "E_PARAMS",
      );
    req.args = o.args;
  }
  if (o.timeout !== undefined && o.timeout !== null) {
    if (typeof o.timeout !== "number" || !(o.timeout > 0))
      throw new SaltyError(
        `timeout must be a positive number of seconds, got ${JSON.stringify(o.timeout)}`,
        "E_PARAMS",
      );
    req.timeout = o.timeout;
  }
  return req;
}

/** The executable server/NAME of the fileroot, resolved (no symlink out of server/). */
function commandPath(fileroot: string, name: string): string {
  if (!existsSync(join(fileroot, "server")))
    throw new SaltyError(
      `no command server/${name} on the master (its fileroot has no server/ directory)`,
      "E_NOENT",
    );
  let full: string;
  try {
    full = resolveUnder(join(fileroot, "server"), name);
  } catch (err) {
    if (err instanceof SaltyError && err.code === "E_NOENT")
      throw new SaltyError(`no command server/${name} on the master`, "E_NOENT");
    throw err;
  }
  const st = statSync(full);
  if (!st.isFile() || (st.mode & 0o111) === 0)
    throw new SaltyError(`server/${name} on the master is not an executable file`, "E_NOT_EXEC");
  return full;
}

/** argv words from the arguments: a list of strings and numbers is passed as they are, anything else only as JSON. */
function argvOf(args: unknown): string[] {
  return Array.isArray(args) && args.every((a) => typeof a === "string" || typeof a === "number")
    ? args.map(String)
    : [];
}

/** One server.shell call from agent `caller.id`: checked (a refusal is logged too), then run. */
export function serveServerShell(
  run: ServerShell,
  p: unknown,
  caller: ServerShellCaller & { roles: ReadonlySet<string> },
): Promise<Result> {
  let req: ServerCommandRequest;
  try {
    req = serverCommandRequest(p, caller.roles);
  } catch (err) {
    log("master.server_shell_refused", { id: caller.id, error: errorMessage(err) });
    throw err;
  }
  return run(req, { id: caller.id });
}

export function masterShell(exec: Exec, fileroot: string): ServerShell {
  return async (req, caller) => {
    const t0 = performance.now();
    const cmd = `serverShell(${req.name})`;
    const who = { id: caller.id, role: req.role, command: req.name };
    let path: string;
    try {
      path = commandPath(fileroot, req.name);
    } catch (err) {
      log("master.server_shell_refused", { ...who, error: errorMessage(err) });
      throw err;
    }
    const env = {
      SALTY_ARGS: JSON.stringify(req.args ?? null),
      SALTY_AGENT: caller.id,
      SALTY_ROLE: req.role,
    };
    // Never longer than a role may run: a command left hanging would outlive the role that asked for it.
    const timeoutMs = Math.min(
      req.timeout ? Math.round(req.timeout * 1000) : Infinity,
      timing.roleTimeoutMs,
    );
    const r = await exec([path, ...argvOf(req.args)], { cwd: fileroot, env, timeoutMs });
    log("master.server_shell", { ...who, rc: r.rc, timedOut: r.timedOut });
    return {
      cmd,
      rc: r.rc,
      changed: true,
      elapsed: (performance.now() - t0) / 1000,
      output: r.output,
      ...(r.timedOut ? { error: `timed out after ${timeoutMs / 1000}s` } : {}),
    };
  };
}
