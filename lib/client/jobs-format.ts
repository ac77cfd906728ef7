// The text of `salty jobs` (a table, newest first) and the report a job's
// record turns back into for `salty jobs show` (printed by format.ts, as the
// apply printed it). Pure: no I/O.

import type { ApplyReport } from "../wire/api.ts";
import type { JobRecord, JobSummary } from "../history/types.ts";

const HEAD = [
  "ID",
  "KIND",
  "STATUS",
  "HOSTS",
  "FAILED",
  "CHANGED",
  "ELAPSED",
  "STARTED",
  "TARGET",
  "VERSION",
  "WHO",
];

export function jobsTable(jobs: JobSummary[]): string[] {
  const rows = jobs.map((j) => [
    j.id,
    j.dryRun ? `${j.kind}(dry)` : j.kind,
    j.status,
    String(j.hosts),
    String(j.failed),
    String(j.changed),
    j.elapsed === undefined ? "-" : j.elapsed.toFixed(3),
    new Date(j.started).toISOString().replace(/\.\d+Z$/, "Z"),
    j.target || "*",
    j.version || "-",
    j.who,
  ]);
  const all = [HEAD, ...rows];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "),
  );
}

/** The job's header line: what `salty jobs show` prints above the report. */
export function jobHeader(job: JobRecord): string {
  const parts = [
    `job:${job.id}`,
    `kind:${job.kind}`,
    `status:${job.status}`,
    `started:${new Date(job.started).toISOString()}`,
    `who:${job.who}`,
  ];
  if (job.target) parts.push(`target:${job.target}`);
  if (job.version) parts.push(`version:${job.version}`);
  if (job.dryRun) parts.push("dry-run");
  return parts.join(" ");
}

/** The report as the client received it, hosts sorted by id (as `salty apply --sort` prints it); without the diffs unless `diff`. */
export function jobReport(job: JobRecord, opts: { diff: boolean }): ApplyReport {
  const hosts = job.hosts
    .map((h) => h.report)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const report: ApplyReport = {
    hosts,
    elapsed: job.elapsed ?? (Date.now() - job.started) / 1000,
    rc: job.rc ?? (job.status === "failed" ? 1 : 0),
    ...(job.rollout ? { rollout: job.rollout } : {}),
  };
  if (opts.diff) return report;
  return {
    ...report,
    hosts: hosts.map((h) => ({
      ...h,
      roles: h.roles.map((r) => ({
        ...r,
        results: r.results.map(({ diff: _diff, ...rest }) => rest),
      })),
    })),
  };
}
