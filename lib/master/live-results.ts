// The results an agent streams while a role runs (role.result, when the
// client asked for live results: `--json-stream`, the text at -vv). They come from a host
// that may be compromised: only for this apply and one of this host's roles,
// at most limits.maxLiveResults per host's apply, each reduced to the fields
// of a Result, cut, and masked with the host's secret values before the
// client sees them. The role's report, checked as always, stays the record;
// when it lost what was streamed (the connection lost, the worker killed), the
// streamed results are put back in front of its failure: what was done is reported.

import type { Result } from "salty";
import { limits } from "../constants.ts";
import { maskResult, type Masker } from "../crypto/mask.ts";
import type { ApplyEvent } from "../wire/api.ts";

const TEXT_MAX = 64 * 1024;

function text(v: unknown): string | undefined {
  return typeof v === "string"
    ? v.length > TEXT_MAX
      ? `${v.slice(0, TEXT_MAX)}\n[cut]`
      : v
    : undefined;
}

/** A Result made of what the agent sent, field by field; undefined when it is not one. */
export function checkedResult(v: unknown): Result | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const cmd = text(o.cmd);
  if (cmd === undefined || typeof o.rc !== "number" || !Number.isInteger(o.rc)) return undefined;
  const r: Result = {
    cmd: cmd.slice(0, 2000),
    rc: o.rc,
    changed: o.changed === true,
    elapsed: typeof o.elapsed === "number" && Number.isFinite(o.elapsed) ? o.elapsed : 0,
  };
  if (typeof o.created === "boolean") r.created = o.created;
  for (const k of ["output", "error", "diff"] as const) {
    const t = text(o[k]);
    if (t !== undefined) r[k] = t;
  }
  const changes = checkedChanges(o.changes);
  if (changes) r.changes = changes;
  return r;
}

const count = (v: unknown) =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;

/** syncdir's counts, numbers only: as the report has them, so the streamed line is the report's. */
function checkedChanges(v: unknown): Result["changes"] | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const [added, updated, removed] = [count(o.added), count(o.updated), count(o.removed)];
  if (added === undefined || updated === undefined || removed === undefined) return undefined;
  const out: NonNullable<Result["changes"]> = { added, updated, removed };
  for (const k of ["fixed", "dirsAdded", "dirsRemoved"] as const) {
    const n = count(o[k]);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

export interface LiveResults {
  /** The handler of the host's role.result notifications. */
  take(p: unknown): void;
  /** The scheduler now waits for this role: its results go out as they come, those held for it first.
   * (The agent runs the next role as soon as one ends: its first results may arrive before the master has
   * taken the previous role's report; they wait, so that each role's results come before its role_end.) */
  current(role: string): void;
  /** The role's results for its report: `results`, or what was streamed then `results` when they do not begin with it. */
  settle(role: string, results: Result[]): Result[];
}

/** One host's live results during one apply. */
export function liveResults(
  host: string,
  roles: string[],
  mask: Masker | undefined,
  emit: (e: ApplyEvent) => void,
): LiveResults {
  let count = 0;
  let now: string | undefined;
  const known = new Set(roles);
  const held = new Map<string, Result[]>();
  const streamed = new Map<string, Result[]>();
  const out = (role: string, r: Result) => {
    const sent = streamed.get(role);
    if (sent) sent.push(r);
    else streamed.set(role, [r]);
    emit({ type: "result", host, role, result: r });
  };
  return {
    take(p) {
      if (typeof p !== "object" || p === null || count >= limits.maxLiveResults) return;
      const { role, result } = p as Record<string, unknown>;
      if (typeof role !== "string" || !known.has(role)) return;
      const r = checkedResult(result);
      if (!r) return;
      count++;
      const masked = maskResult(r, mask);
      if (role === now) out(role, masked);
      else held.set(role, [...(held.get(role) ?? []), masked]);
    },
    current(role) {
      now = role;
      for (const r of held.get(role) ?? []) out(role, r);
      held.delete(role);
    },
    settle(role, results) {
      const sent = streamed.get(role) ?? [];
      // A report that begins with what was streamed is whole (an agent that streams more gains nothing).
      const whole = sent.slice(0, results.length).every((r, i) => results[i]!.cmd === r.cmd);
      return whole ? results : [...sent, ...results];
    },
  };
}
