// The text of `salty drift`: from a dry run's report, each host whose state
// differs from what its roles would make it, with the commands that would
// change it (and their diffs with --diff); those of a role whose inputs are
// the ones it last applied successfully there say the host drifted since
// (the master marks them corrective: lib/history/inputs.ts). Pure: no I/O.

import type { ApplyReport } from "../wire/api.ts";
import { diffLines, type Line } from "./format.ts";

export interface Drift {
  /** Host id → the commands a real apply would change (failed ones included: their state is unknown). */
  /** `drifted`: the role's inputs are those of its last successful run there, so the host changed since (corrective). */
  hosts: Record<
    string,
    Array<{ role: string; cmd: string; rc: number; error?: string; drifted?: true }>
  >;
  /** Hosts that did not run (missing, not connected). */
  unreached: string[];
}

export function driftOf(report: ApplyReport): Drift {
  const drift: Drift = { hosts: {}, unreached: [] };
  for (const h of report.hosts) {
    if (h.status === "missing" || h.status === "absent") drift.unreached.push(h.id);
    if (h.status !== "ran") continue;
    const items = h.roles.flatMap((r) =>
      r.results
        .filter((x) => x.changed || x.rc !== 0)
        .map((x) => ({
          role: r.role,
          cmd: x.cmd,
          rc: x.rc,
          ...(x.error ? { error: x.error } : {}),
          ...(r.corrective && x.changed ? { drifted: true as const } : {}),
        })),
    );
    drift.hosts[h.id] = items;
  }
  return drift;
}

/** verbose: hosts in place are listed too. */
export function driftLines(report: ApplyReport, opts: { verbose: boolean; diff: boolean }): Line[] {
  const lines: Line[] = [];
  const byCmd = new Map(
    report.hosts.flatMap((h) =>
      h.roles.flatMap((r) => r.results.map((x) => [`${h.id}\0${r.role}\0${x.cmd}`, x] as const)),
    ),
  );
  const drift = driftOf(report);
  for (const [host, items] of Object.entries(drift.hosts)) {
    if (items.length === 0) {
      if (opts.verbose) lines.push({ text: `${host}: in place`, error: false });
      continue;
    }
    const failed = items.filter((i) => i.rc !== 0).length;
    lines.push({
      text: `${host}: ${items.length - failed} would change${failed ? `, ${failed} failed` : ""}`,
      error: failed > 0,
    });
    for (const i of items) {
      const why =
        i.rc !== 0
          ? ` (rc ${i.rc}: ${(i.error ?? "").split("\n")[0]})`
          : i.drifted
            ? " (drifted since the last apply)"
            : "";
      lines.push({ text: `  ${i.role}: ${i.cmd}${why}`, error: i.rc !== 0 });
      const diff = byCmd.get(`${host}\0${i.role}\0${i.cmd}`)?.diff;
      if (opts.diff && typeof diff === "string" && diff) lines.push(...diffLines(diff));
    }
  }
  for (const host of drift.unreached)
    lines.push({ text: `${host}: not reached (missing)`, error: true });
  return lines;
}

/** 0: every reached host is in place; 1: something differs, failed or was not reached. */
export function driftStatus(report: ApplyReport): number {
  const d = driftOf(report);
  return d.unreached.length || Object.values(d.hosts).some((items) => items.length) ? 1 : 0;
}
