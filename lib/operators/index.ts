// The operators a role receives, bound to one role run: every call is
// planned and applied through run.ts and its Result recorded in call order;
// print() collects output; isChanged() looks back over this role's results.
// This is the one entry point the role runner uses.

import type { Context, Operators, Result } from "salty";
import { copy } from "./copy.ts";
import { lineInFile } from "./line-in-file.ts";
import { makedirs } from "./makedirs.ts";
import { remove } from "./remove.ts";
import { render } from "./render.ts";
import { execute } from "./run.ts";
import { serverShell, shell } from "./shell.ts";
import { symlink } from "./symlink.ts";
import { syncdir } from "./syncdir.ts";
import type { Caps, OpCtx, Operator } from "./types.ts";
import { useradd } from "./useradd.ts";
import { usergroups } from "./usergroups.ts";

export interface RoleOperators {
  operators: Operators;
  /** Results in the order the operators were called. */
  results: Result[];
  /** What print() received, one entry per call. */
  output: string[];
}

function printable(x: unknown): string {
  return typeof x === "string" ? x : Bun.inspect(x);
}

export interface RoleOpts {
  /** myIp() and getIps(role), computed from the facts by the caller (lib/agent/addresses.ts). */
  addresses: { myIp(): string | undefined; getIps(role: string): string[] };
  /** Aborted when the role runs past its timeout. */
  signal?: AbortSignal;
}

export function createOperators(caps: Caps, context: Context, opts: RoleOpts): RoleOperators {
  const results: Result[] = [];
  const output: string[] = [];
  const { myIp, getIps } = opts.addresses;
  const ctx: OpCtx = { ...caps, locals: { ...context, myIp, getIps }, ...(opts.signal ? { signal: opts.signal } : {}) };
  const bind = <A extends unknown[]>(op: Operator<A>) => async (...args: A): Promise<Result> => {
    const slot = results.length;
    results.push({ cmd: "", rc: 0, changed: false, elapsed: 0 }); // keeps call order when calls overlap
    const { result } = await execute(ctx, op, args);
    results[slot] = result;
    return result;
  };
  const operators: Operators = {
    copy: bind(copy),
    render: bind(render),
    lineInFile: bind(lineInFile),
    makedirs: bind(makedirs),
    remove: bind(remove),
    symlink: bind(symlink),
    syncdir: bind(syncdir),
    shell: bind(shell),
    serverShell: bind(serverShell),
    useradd: bind(useradd),
    usergroups: bind(usergroups),
    print: (x) => void output.push(printable(x)),
    isChanged: () => results.some((r) => r.changed),
    myIp,
    getIps,
  };
  return { operators, results, output };
}
