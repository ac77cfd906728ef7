// Keeps an apply report small enough to reach the client in one frame. When
// the outputs, diffs and prints of all hosts together pass
// limits.reportOutputChars, the longest are cut to one equal share each and
// say so; cmd, rc, changed and error are never cut, so every verdict stays.
// Without this, 500 hosts printing 70 kB each lost the whole report. Pure.

import { limits } from "../constants.ts";
import type { ApplyReport } from "../wire/api.ts";

interface Text {
  value: string;
  set(s: string): void;
}

/** The largest share such that every text cut to it fits `budget` in all (water-filling). */
export function fairShare(lengths: number[], budget: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let left = budget;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i));
    if (sorted[i]! > share) return share;
    left -= sorted[i]!;
  }
  return Infinity;
}

function texts(report: ApplyReport): Text[] {
  const out: Text[] = [];
  const field = <T extends object, K extends keyof T>(o: T, k: K) => {
    const v = o[k];
    if (typeof v === "string" && v) out.push({ value: v, set: (s) => ((o[k] as unknown) = s) });
  };
  for (const host of report.hosts) {
    for (const role of host.roles) {
      field(role, "output");
      for (const r of role.results) {
        field(r, "output");
        field(r, "diff");
      }
    }
  }
  return out;
}

/** The report itself, its longest texts cut when all of them together pass `budget` characters. */
export function fitReport(report: ApplyReport, budget = limits.reportOutputChars): ApplyReport {
  const all = texts(report);
  if (all.reduce((n, t) => n + t.value.length, 0) <= budget) return report;
  const share = fairShare(
    all.map((t) => t.value.length),
    budget,
  );
  for (const t of all) {
    if (t.value.length <= share) continue;
    t.set(
      `${t.value.slice(0, share)}\n[cut: an apply report keeps ${budget} characters of output in all; ${t.value.length - share} more not shown]`,
    );
  }
  return report;
}
