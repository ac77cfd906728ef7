// The lines a rollout adds after its hosts (salty apply, salty jobs show):
//
//   rollout: 2/5 batches (1, 3 hosts), 2 failed, budget 2/2
//   rollout stopped: the failure budget is spent (2 of max_fail 2 hosts failed): 6 hosts never attempted
//     failed: a2, a3
//     never attempted (6): a4, a5, a6, a7, a8, a9
//
// Failures and a stop go to stderr. Pure: no I/O.

import type { RolloutSummary } from "../wire/api.ts";
import type { Line } from "./format.ts";

const SHOWN = 20;

function names(ids: string[]): string {
  return ids.length > SHOWN
    ? `${ids.slice(0, SHOWN).join(", ")}, ... (${ids.length - SHOWN} more)`
    : ids.join(", ");
}

export function formatRollout(r: RolloutSummary): Line[] {
  const sizes = r.batches.map((b) => b.hosts.length).join(", ");
  const resumed = r.resumeOf ? ` (resumes job ${r.resumeOf})` : "";
  const lines: Line[] = [
    {
      text: `rollout: ${r.batches.length}/${r.planned} batches (${sizes || "no"} host${sizes === "1" ? "" : "s"}), ${r.failed.length} failed, budget ${r.spent}/${r.budget}${resumed}`,
      error: false,
    },
  ];
  if (r.stopped) lines.push({ text: `rollout stopped: ${r.stopped}`, error: true });
  if (r.failed.length) lines.push({ text: `  failed: ${names(r.failed)}`, error: true });
  if (r.neverAttempted.length)
    lines.push({
      text: `  never attempted (${r.neverAttempted.length}): ${names(r.neverAttempted)}`,
      error: true,
    });
  return lines;
}

/** The hint under a rollout that left hosts: how to go on. */
export function resumeHint(
  r: RolloutSummary | undefined,
  job: string | undefined,
): string | undefined {
  if (!r || !job) return undefined;
  if (r.neverAttempted.length)
    return `resume: salty apply --resume ${job}${r.failed.length ? " (--retry-failed: its failed hosts too)" : ""}`;
  if (r.failed.length || r.missing.length)
    return `retry: salty apply --resume ${job} --retry-failed`;
  return undefined;
}
