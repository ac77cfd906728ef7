// The one boundary where an operator's throw becomes data: plan, then apply
// (unless --dry-run), and return a Result. rc 1 with an error a person can
// read, prefixed with the call (`copy(a, /b): no such file in the fileroot: files/a`).

import type { Result } from "salty";
import { errorMessage } from "../errors.ts";
import { applyPlan, type Applied } from "./apply.ts";
import type { Change, OpCtx, Operator, Plan } from "./types.ts";

export interface Outcome {
  result: Result;
  /** Absent when planning failed. */
  plan?: Plan;
}

const SUMMARY_LINES = 20;

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** One line per change, for dry-run output. */
export function describeChange(c: Change): string {
  switch (c.kind) {
    case "mkdir":
      return `mkdir ${c.path} ${octal(c.mode)} ${c.uid}:${c.gid}`;
    case "write":
    case "fetch":
      return `${c.kind} ${c.path} (${c.size} bytes) ${octal(c.mode)} ${c.uid}:${c.gid}`;
    case "chmod":
      return `chmod ${c.path} ${octal(c.mode)}`;
    case "chown":
      return `chown ${c.path} ${c.uid}:${c.gid}`;
    case "symlink":
      return `symlink ${c.path} -> ${c.target}`;
    case "remove":
      return `remove ${c.path}`;
    case "utime":
      return `utime ${c.path}`;
    case "exec":
      return `${c.on === "master" ? "run on the master" : "run"}: ${c.argv.join(" ")}`;
  }
}

function dryRunOutput(changes: Change[]): string {
  const lines = changes.slice(0, SUMMARY_LINES).map((c) => (c.kind === "exec" ? `not run (dry run): ${c.argv.join(" ")}` : `would ${describeChange(c)}`));
  if (changes.length > SUMMARY_LINES) lines.push(`... and ${changes.length - SUMMARY_LINES} more`);
  return lines.join("\n");
}

function describe<A extends unknown[]>(op: Operator<A>, args: A): string {
  try {
    return op.describe(...args);
  } catch {
    return "operator(?)";
  }
}

/** Plan and apply one operator call; never throws. */
export async function execute<A extends unknown[]>(ctx: OpCtx, op: Operator<A>, args: A): Promise<Outcome> {
  const start = performance.now();
  const cmd = describe(op, args);
  let plan: Plan | undefined;
  const progress: Applied = { count: 0 };
  let result: Result;
  try {
    if (ctx.signal?.aborted) throw new Error("not run: the role timed out");
    plan = await op.plan(ctx, ...args);
    result = { cmd, rc: 0, changed: plan.changes.length > 0, elapsed: 0 };
    if (plan.created !== undefined) result.created = plan.created;
    if (ctx.dryRun) {
      if (plan.changes.length) result.output = dryRunOutput(plan.changes);
    } else if (plan.changes.length) {
      await applyPlan(ctx, plan, progress);
      if (progress.exec) {
        result.rc = progress.exec.rc;
        result.output = progress.exec.output;
        if (progress.exec.error) result.error = `${cmd}: ${progress.exec.error}`;
      }
    }
  } catch (err) {
    result = { cmd, rc: 1, changed: progress.count > 0, elapsed: 0, error: `${cmd}: ${errorMessage(err)}` };
    if (plan?.created !== undefined) result.created = plan.created;
  }
  if (plan?.counts) result.changes = plan.counts;
  if (plan?.diff && ctx.diff && result.changed) result.diff = plan.diff;
  result.elapsed = Math.round((performance.now() - start) * 1000) / 1e6;
  return { result, ...(plan ? { plan } : {}) };
}
