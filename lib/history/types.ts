// What the job history holds: one record per job (an apply, later a run or a
// deploy) and, in it, one entry per host with that host's part of the report
// exactly as the client received it (outputs cut as in reports, secrets
// masked before they reach the master's report). Types only.

import type { HostReport, RolloutSummary } from "../wire/api.ts";

/** `scheduled`: an agent's periodic apply of itself (salty agent --apply-every); `pull`: a masterless pull's result, reported by the host (salty pull --report). */
export type JobKind = "apply" | "run" | "deploy" | "bootstrap" | "scheduled" | "pull";
export type JobStatus = "running" | "ok" | "failed";
/** A host's verdict in one job. */
export type HostVerdict = "ok" | "failed" | "missing" | "lost" | "skipped";

export interface JobHost {
  id: string;
  status: HostVerdict;
  errors: number;
  changed: number;
  elapsed: number;
  /** The host's part of the report, as the client received it. */
  report: HostReport;
}

export interface JobRecord {
  /** Sortable and time-based: YYYYMMDD-HHMMSS-NNNN (UTC; NNNN counts jobs within that second). */
  id: string;
  kind: JobKind;
  /** Who started it: `key:ID` (a remote client's key) or `local:USER` (the master's Unix socket). */
  who: string;
  /** target= of the apply, "" for every host. */
  target: string;
  args: string[];
  /** version= of the apply, "" when none was given. */
  version: string;
  dryRun: boolean;
  /** Epoch milliseconds. */
  started: number;
  ended?: number;
  status: JobStatus;
  /** Seconds, as the report says. */
  elapsed?: number;
  rc?: number;
  /** Why the job failed before any host ran (a bad inventory, a usage error). */
  error?: string;
  hosts: JobHost[];
  /** A rollout's batches, failed and never-attempted hosts (batch=, max_fail=, gate=; salty apply --resume). */
  rollout?: RolloutSummary;
}

/** One line of `salty jobs`. */
export interface JobSummary {
  id: string;
  kind: JobKind;
  who: string;
  target: string;
  version: string;
  dryRun: boolean;
  started: number;
  ended?: number;
  status: JobStatus;
  elapsed?: number;
  hosts: number;
  failed: number;
  changed: number;
}

export interface JobFilter {
  host?: string;
  failed?: boolean;
  kind?: JobKind;
  /** Epoch milliseconds: jobs started at or after. */
  since?: number;
  limit?: number;
}

/** A host's last apply (dry runs are not applies), and its last successful one. */
export interface LastApply {
  host: string;
  job: string;
  at: number;
  status: HostVerdict;
  version: string;
  okJob?: string;
  okAt?: number;
  okVersion?: string;
}
