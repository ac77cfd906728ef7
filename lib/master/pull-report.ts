// `salty pull --report MASTER`: a masterless pull's report, sent by the host
// over the secure channel with its agent key, recorded as a job of kind
// `pull` (who `agent:ID`, version= the commit). Untrusted: the job is for the
// connection's own id and nothing else (a report naming another host is
// refused whole), its report is rebuilt field by field from what is checked
// (a malformed one cannot upset `salty jobs show`), counts are recounted from
// the results; a pull that failed before applying sends its error's first line
// instead (recorded as the host's one failed step, `salty pull`),
// and one report per host is taken per timing.scheduledMinGapMs
// (a flood would otherwise push real jobs out of the bounded history).

import type { Result } from "salty";
import { SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import { obj, str } from "../wire/check.ts";
import type { ApplyReport, HostReport, RoleOutcome } from "../wire/api.ts";
import type { Recorder } from "../history/recorder.ts";

export type PullReport = (id: string, params: unknown) => Promise<{ job: string }>;

const TEXT = 64 * 1024;
const text = (v: unknown, max = TEXT): string | undefined =>
  typeof v === "string" ? v.slice(0, max) : undefined;
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);
const list = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new SaltyError(`agent.report: ${what} must be a list`, "E_PARAMS");
  return v;
};

function result(v: unknown): Result {
  const o = obj(v, "result");
  const rc = typeof o.rc === "number" && Number.isInteger(o.rc) ? o.rc : 1;
  const out = text(o.output);
  const error = text(o.error);
  return {
    cmd: text(o.cmd, 1000) ?? "?",
    rc,
    changed: o.changed === true,
    elapsed: num(o.elapsed),
    ...(out !== undefined ? { output: out } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

function role(v: unknown): RoleOutcome {
  const o = obj(v, "role");
  const results = list(o.results, "results").slice(0, 10_000).map(result);
  const output = text(o.output);
  return {
    role: text(o.role, 255) ?? "?",
    skipped: o.skipped === true,
    elapsed: num(o.elapsed),
    results,
    errors: results.filter((r) => r.rc !== 0).length,
    changed: results.filter((r) => r.changed).length,
    ...(output !== undefined ? { output } : {}),
  };
}

/** The host's part of the report, for `id` alone. */
export function checkedHost(id: string, report: unknown): HostReport {
  const hosts = list(obj(report, "report").hosts, "report.hosts");
  const others = hosts
    .map((h) => (h !== null && typeof h === "object" ? (h as { id?: unknown }).id : undefined))
    .filter((h) => h !== id);
  if (others.length || hosts.length !== 1) {
    throw new SaltyError(
      `a pull report is recorded for the reporting host (${id}) alone; this one names ${others.map((o) => JSON.stringify(o)).join(", ") || "no host"}`,
      "E_DENIED",
    );
  }
  const h = obj(hosts[0], "host");
  const roles = list(h.roles, "roles").slice(0, 1000).map(role);
  return {
    id,
    status: "ran",
    elapsed: num(h.elapsed),
    errors: roles.reduce((n, r) => n + r.errors, 0),
    changed: roles.reduce((n, r) => n + r.changed, 0),
    roles,
  };
}

export function pullReports(history: Recorder | undefined): PullReport {
  const accepted = new Map<string, number>();
  return async (id, params) => {
    if (!history)
      throw new SaltyError(
        "pull reports are refused: this master keeps no job history",
        "E_NO_HISTORY",
      );
    const p = obj(params, "agent.report");
    const commit = str(p.commit, "commit");
    const error =
      typeof p.error === "string" ? p.error.split("\n")[0]!.slice(0, 1000) || "failed" : undefined;
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) && !(error && commit === ""))
      throw new SaltyError("agent.report: commit must be a full git commit id", "E_PARAMS");
    let host: HostReport | undefined;
    try {
      if (!error) host = checkedHost(id, p.report);
    } catch (err) {
      log("pull_report.refused", { id, why: (err as Error).message });
      throw err;
    }
    const since = Date.now() - (accepted.get(id) ?? 0);
    if (since < timing.scheduledMinGapMs) {
      log("pull_report.refused", { id, why: "too often" });
      throw new SaltyError(
        `pull report refused: the last one from ${id} was ${(since / 1000).toFixed(1)}s ago (at most one per ${timing.scheduledMinGapMs / 1000}s)`,
        "E_RATE",
      );
    }
    accepted.set(id, Date.now());
    const args = [
      `target=${id}`,
      `version=${commit}`,
      `repo=${str(p.repo, "repo").slice(0, 1000)}`,
      `branch=${str(p.branch, "branch").slice(0, 255)}`,
    ];
    const job = history.start("pull", `agent:${id}`, { args, dryRun: false, diff: false });
    host ??= failedPull(id, error ?? "failed");
    job.end({
      hosts: [host],
      elapsed: host.elapsed,
      rc: host.errors > 0 ? 1 : 0,
    } satisfies ApplyReport);
    return { job: job.id };
  };
}

/** A pull that failed before it applied anything (fetch, fast-forward, password): one failed step. */
function failedPull(id: string, error: string): HostReport {
  const results: Result[] = [{ cmd: "salty pull", rc: 1, changed: false, elapsed: 0, error }];
  return {
    id,
    status: "ran",
    elapsed: 0,
    errors: 1,
    changed: 0,
    roles: [{ role: "pull", skipped: false, elapsed: 0, errors: 1, changed: 0, results }],
  };
}
