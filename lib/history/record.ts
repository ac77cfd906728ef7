// A job's record made from what the master already has: the apply request
// at its start, the report the client receives at its end. Also the log
// lines of a job. Pure: no I/O.

import type { ApplyReport, ApplyRequest, HostReport } from "../wire/api.ts";
import type { HostVerdict, JobHost, JobKind, JobRecord } from "./types.ts";

/** The value of KEY= among the apply's words, "" when absent. */
function argValue(args: string[], key: string): string {
  const word = args.findLast((a) => a.startsWith(`${key}=`));
  return word === undefined ? "" : word.slice(key.length + 1);
}

export function startRecord(opts: {
  id: string;
  kind: JobKind;
  who: string;
  req: ApplyRequest;
  now: number;
}): JobRecord {
  const { req } = opts;
  return {
    id: opts.id,
    kind: opts.kind,
    who: opts.who,
    target: argValue(req.args, "target"),
    args: [...req.args],
    version: argValue(req.args, "version"),
    dryRun: req.dryRun,
    started: opts.now,
    status: "running",
    hosts: [],
  };
}

/** A host's entry in a job: its verdict and counts beside its report. */
export function jobHost(h: HostReport): JobHost {
  return {
    id: h.id,
    status: verdict(h),
    errors: h.errors,
    changed: h.changed,
    elapsed: h.elapsed,
    report: h,
  };
}

export function endRecord(start: JobRecord, report: ApplyReport, now: number): JobRecord {
  const hosts = report.hosts.map(jobHost);
  return {
    ...start,
    ended: now,
    elapsed: report.elapsed,
    rc: report.rc,
    status: report.rc === 0 ? "ok" : "failed",
    hosts,
    ...(report.rollout ? { rollout: report.rollout } : {}),
  };
}

/** A job that failed before any host ran: the inventory did not load, a bad argument. */
export function failedRecord(start: JobRecord, error: string, now: number): JobRecord {
  return {
    ...start,
    ended: now,
    elapsed: (now - start.started) / 1000,
    rc: 1,
    status: "failed",
    error: error.split("\n")[0] ?? error,
  };
}

/** ok, failed, lost (its agent went away during the apply), missing (named but not there) or skipped. */
export function verdict(h: HostReport): HostVerdict {
  if (h.status === "missing" || h.status === "absent") return "missing";
  if (h.status !== "ran") return h.errors > 0 ? "failed" : "skipped";
  if (h.errors === 0) return "ok";
  const lost = h.roles.some((r) =>
    r.results.some(
      (x) => x.rc !== 0 && typeof x.error === "string" && x.error.startsWith("connection lost"),
    ),
  );
  return lost ? "lost" : "failed";
}

/** The fields of the master's log line at a job's end: `job=ID kind=apply target=… hosts=12 failed=1 elapsed=0.84`. */
export function endFields(job: JobRecord): Record<string, unknown> {
  const failed = job.hosts.filter((h) => h.status !== "ok" && h.status !== "skipped").length;
  return {
    job: job.id,
    kind: job.kind,
    target: job.target || "*",
    hosts: job.hosts.length,
    failed,
    changed: job.hosts.reduce((n, h) => n + h.changed, 0),
    elapsed: Number((job.elapsed ?? 0).toFixed(3)),
    rc: job.rc,
  };
}

/** One entry per failed command (host, role, first line of its error) for the log. */
export function failures(job: JobRecord, max = 20): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const h of job.hosts) {
    if (h.status === "missing") out.push({ job: job.id, host: h.id, error: "host missing" });
    for (const r of h.report.roles) {
      for (const x of r.results) {
        if (x.rc === 0 || out.length >= max) continue;
        // The error only, never the output: a command's output may hold what a role printed.
        const first =
          String(x.error ?? `rc ${x.rc}`)
            .split("\n")
            .find((l) => l.trim()) ?? `rc ${x.rc}`;
        out.push({ job: job.id, host: h.id, role: r.role, cmd: x.cmd, error: first.slice(0, 200) });
      }
    }
  }
  return out.slice(0, max);
}
