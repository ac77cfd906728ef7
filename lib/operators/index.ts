// The operators a role receives, bound to one role run: every call is
// planned and applied through run.ts and its Result recorded in call order;
// print() collects output; isChanged() looks back over this role's results.
// This is the one entry point the role runner uses; the operators themselves
// are listed once, in table.ts.

import type { Context, HostContext, Operators, Result } from "salty";
import { limits } from "../constants.ts";
import { hideSensitive, isSensitive } from "../crypto/mask.ts";
import { notify, notifyOption } from "./notify.ts";
import { PlannedWorld } from "./planned.ts";
import { callOperator } from "./call.ts";
import { OPERATORS } from "./table.ts";
import { quote } from "./quote.ts";
import { destination } from "./_paths.ts";
import type { Caps, OpCtx, Operator } from "./types.ts";

export interface RoleOperators {
  operators: Operators;
  /** The role's context: the master's, with `dryRun` and `path()` of this run. */
  context: Context;
  /** Results in the order the operators were called. */
  results: Result[];
  /** What print() received, one entry per call. */
  output: string[];
}

function printable(x: unknown): string {
  return typeof x === "string" ? x : Bun.inspect(x);
}

/** print() for one role run: keeps limits.printOutputBytes in all, then one line saying how much was cut.
 * A role printing 100 MB must not make a report too large to send, nor hold it several times over. */
function printer(output: string[]): (x: unknown) => void {
  const cap = limits.printOutputBytes;
  let kept = 0;
  let cut = 0;
  let note = -1;
  return (x) => {
    const s = printable(x);
    const size = Buffer.byteLength(s);
    if (kept + size <= cap) {
      kept += size;
      return void output.push(s);
    }
    // Slice by characters first, so a huge string is never copied whole.
    const head =
      kept < cap
        ? Buffer.from(s.slice(0, cap - kept))
            .subarray(0, cap - kept)
            .toString()
        : "";
    if (head) output.push(head);
    kept = cap;
    cut += size - Buffer.byteLength(head);
    if (note < 0) note = output.push("") - 1;
    output[note] = `... print output cut at ${cap / 1024 / 1024} MiB: ${cut} bytes more not shown`;
  };
}

/** Outputs and diffs of one role's results, limits.roleOutputChars in all: past it each is cut and says so,
 * so the role's report always fits in one frame back to the master (40 commands of 1 MiB did not). */
function outputBudget(): (r: Result) => Result {
  let left = limits.roleOutputChars;
  const cut = (s: string) => {
    const keep = Math.min(s.length, left);
    left -= keep;
    if (keep === s.length) return s;
    return `${s.slice(0, keep)}\n[cut: a role's report keeps ${limits.roleOutputChars} characters of output in all; ${s.length - keep} more not shown]`;
  };
  return (r) => {
    if (r.output) r.output = cut(r.output);
    if (r.diff) r.diff = cut(r.diff);
    return r;
  };
}

/** What binding turns each planned operator into: a function of its arguments that returns its Result. */
type Bound<T> = {
  [K in keyof T]: T[K] extends Operator<infer A> ? (...args: A) => Promise<Result> : never;
};

export interface RoleOpts {
  /** A dry run's planned world to carry on (the host's earlier roles of the same apply); else each dry run starts its own. */
  planned?: PlannedWorld;
  /** myIp() and getIps(role), computed from the facts by the caller (lib/agent/addresses.ts). */
  addresses: { myIp(): string | undefined; getIps(role: string): string[] };
  /** Aborted when the role runs past its timeout. */
  signal?: AbortSignal;
  /** Each call's result as the report will hold it, as soon as the call ends (live apply results, `-vv`/--json-stream). */
  onResult?: (r: Result) => void;
  /** The role was sent without the shared hosts: what loads them for a template that names them (OpCtx.loadHosts). */
  loadHosts?: OpCtx["loadHosts"];
}

/** The context a role receives: what the master sent, `args` (an empty one from an older master), `dryRun`, and `path()`
 * that maps a destination path under --path the way every operator does (_paths.ts: absolute, else it throws). */
export function roleContext(
  caps: Pick<Caps, "dryRun" | "pathPrefix">,
  context: HostContext,
): Context {
  const args = context.args && typeof context.args === "object" ? context.args : {};
  return { ...context, args, dryRun: caps.dryRun, path: (p: string) => destination(caps, p).real };
}

export function createOperators(caps: Caps, context: HostContext, opts: RoleOpts): RoleOperators {
  const results: Result[] = [];
  const output: string[] = [];
  const { myIp, getIps } = opts.addresses;
  // A dry run plans each call as if the earlier ones had been applied (planned.ts); an apply sees the real ports.
  const world = caps.dryRun ? (opts.planned ?? new PlannedWorld(caps)) : undefined;
  const ports = world ? { observe: world.observe, users: world.accounts } : {};
  const full = roleContext(caps, context);
  // Templates see the apply arguments as names of their own too (`<%= version %>`), as before issue 16.
  const ctx: OpCtx = {
    ...caps,
    ...ports,
    locals: { ...full.args, ...full, myIp, getIps, quote },
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.loadHosts ? { loadHosts: opts.loadHosts } : {}),
  };
  const fit = outputBudget();
  const bind =
    <A extends unknown[]>(op: Operator<A>) =>
    async (...args: A): Promise<Result> => {
      const slot = results.length;
      results.push({ cmd: "", rc: 0, changed: false, elapsed: 0 }); // keeps call order when calls overlap
      const { result, plan } = await callOperator(ctx, op, args);
      if (world && plan && result.rc === 0) await world.record(plan);
      await notifyOption(ctx, args, result);
      // The role gets the whole result; the report a copy, without output and diff when the call is sensitive.
      results[slot] = fit(isSensitive(args) ? hideSensitive(result) : { ...result });
      opts.onResult?.(results[slot]!);
      return result;
    };
  const planned = Object.fromEntries(
    Object.entries(OPERATORS).map(([name, op]) => [name, bind(op as Operator<unknown[]>)]),
  ) as unknown as Bound<typeof OPERATORS>;
  const operators: Operators = {
    ...planned,
    notify: async (name, action, o) => {
      const slot = results.push({ cmd: "", rc: 0, changed: false, elapsed: 0 }) - 1;
      const result = await notify(ctx, name, action, o);
      results[slot] = result;
      return result;
    },
    print: printer(output),
    isChanged: () => results.some((r) => r.changed),
    myIp,
    getIps,
    quote,
  };
  return { operators, context: full, results, output };
}
