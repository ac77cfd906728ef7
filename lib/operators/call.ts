// The one boundary where an operator's throw becomes data: plan, then apply
// (unless --dry-run), and return a Result. rc 1 with an error a person can
// read, prefixed with the call (`copy(a, /b): no such file in the fileroot: files/a`).

import type { Result } from "salty";
import { errorMessage } from "../errors.ts";
import {
  describeChange,
  namesFor,
  ownershipLines,
  touchesOwnership,
  type Names,
} from "./_describe.ts";
import { act, type ActProgress } from "./act.ts";
import type { Change, OpCtx, Operator, Plan } from "./types.ts";

export interface CallOutcome {
  result: Result;
  /** Absent when planning failed. */
  plan?: Plan;
}

const SUMMARY_LINES = 20;

/** The first SUMMARY_LINES of `changes` in words, then how many more. */
async function summary(
  ctx: OpCtx,
  changes: Change[],
  line: (c: Change, n: Names) => string[],
): Promise<string[]> {
  const shown = changes.slice(0, SUMMARY_LINES);
  const names = await namesFor(ctx.users, shown);
  const lines = shown.flatMap((c) => line(c, names));
  if (changes.length > SUMMARY_LINES) lines.push(`... and ${changes.length - SUMMARY_LINES} more`);
  return lines;
}

async function dryRunOutput(ctx: OpCtx, changes: Change[]): Promise<string> {
  const lines = await summary(ctx, changes, (c, n) => [
    c.kind === "exec" ? `not run (dry run): ${c.argv.join(" ")}` : `would ${describeChange(c, n)}`,
  ]);
  return lines.join("\n");
}

/** --diff: the mode and owner changes of what is already there ("/etc/x: mode 0644 -> 0600"), then the text diff. */
async function diffOf(ctx: OpCtx, plan: Plan): Promise<string | undefined> {
  const owned = plan.changes.filter(touchesOwnership);
  const head = owned.length
    ? `${(await summary(ctx, owned, (c, n) => ownershipLines([c], n))).join("\n")}\n`
    : "";
  return head + (plan.diff ?? "") || undefined;
}

function describe<A extends unknown[]>(op: Operator<A>, args: A): string {
  try {
    return op.describe(...args);
  } catch {
    return "operator(?)";
  }
}

/** Plan and apply one operator call; never throws. */
export async function callOperator<A extends unknown[]>(
  ctx: OpCtx,
  op: Operator<A>,
  args: A,
): Promise<CallOutcome> {
  const start = performance.now();
  const cmd = describe(op, args);
  let plan: Plan | undefined;
  const progress: ActProgress = { count: 0 };
  let result: Result;
  try {
    if (ctx.signal?.aborted) throw new Error("not run: the role timed out");
    plan = await op.plan(ctx, ...args);
    result = { cmd, rc: 0, changed: plan.changes.length > 0 && plan.changed !== false, elapsed: 0 };
    if (plan.created !== undefined) result.created = plan.created;
    if (ctx.dryRun) {
      if (plan.changes.length)
        result.output = [
          ...(plan.summary ? [`would ${plan.summary}`] : []),
          await dryRunOutput(ctx, plan.changes),
        ].join("\n");
    } else if (plan.changes.length) {
      await act(ctx, plan, progress);
      if (progress.exec) {
        result.rc = progress.exec.rc;
        result.output = progress.exec.output;
        if (progress.exec.error) result.error = `${cmd}: ${progress.exec.error}`;
        if (typeof plan.changed === "function")
          result.changed = Boolean(plan.changed({ rc: result.rc, output: result.output }));
      }
      if (plan.report) result.output = await plan.report();
    }
  } catch (err) {
    result = {
      cmd,
      rc: 1,
      changed: progress.count > 0,
      elapsed: 0,
      error: `${cmd}: ${errorMessage(err)}`,
    };
    if (plan?.created !== undefined) result.created = plan.created;
  }
  if (plan?.counts) result.changes = plan.counts;
  if (plan && ctx.diff && result.changed) {
    const diff = await diffOf(ctx, plan);
    if (diff) result.diff = diff;
  }
  result.elapsed = Math.round((performance.now() - start) * 1000) / 1e6;
  return { result, ...(plan ? { plan } : {}) };
}
