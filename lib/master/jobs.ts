// The job history as the master's clients see it: each apply recorded (its
// id sent to the client first, so an interrupted client can say where the
// report will be), `salty jobs` and `salty jobs show`, and `salty hosts`'
// last apply. A history that is down never fails an apply nor `salty hosts`;
// only the commands that read it say it is unavailable.

import { SaltyError, errorMessage } from "../errors.ts";
import { UsageError } from "../errors.ts";
import { bool, int, obj, optStr, str } from "../wire/check.ts";
import type {
  ApplyEvent,
  ApplyProgress,
  ApplyReport,
  ApplyRequest,
  ControlApi,
  HostEntry,
} from "../wire/api.ts";
import type { Handlers } from "../wire/rpc.ts";
import type { Recorder } from "../history/recorder.ts";
import type { JobFilter, JobKind, JobRecord } from "../history/types.ts";
import { JOB_ID } from "../history/job-id.ts";
import { jobEnded } from "./idle-gc.ts";

/**
 * Who started a job: a remote client by its key id; a local one by its uid as the kernel says it
 * (with the name the client gives when it gives that same uid), or as the client says it where the
 * kernel cannot be asked.
 */
export function whoOf(
  peer: { remote?: string; localUid?: number | undefined },
  req: ApplyRequest,
): string {
  if (peer.remote) return `key:${peer.remote}`;
  if (peer.localUid === undefined) return `local:${req.user ?? "unknown"}`;
  const claim = req.user ?? "";
  return `local:${claim.startsWith(`uid=${peer.localUid}(`) ? claim : `uid=${peer.localUid}`}`;
}

/**
 * Run an apply as a recorded job. `notify` sends progress to the client: first the job's id (before
 * anything runs), then each progress with the id, which the job's followers get too.
 */
export async function recorded(
  history: Recorder | undefined,
  opts: { req: ApplyRequest; who: string; notify(p: ApplyProgress): void; kind?: JobKind },
  run: (
    progress: (p: ApplyProgress) => void,
    events: (e: ApplyEvent) => void,
  ) => Promise<ApplyReport>,
): Promise<ApplyReport> {
  const job = history?.start(
    opts.kind ?? (opts.req.bootstrap ? "bootstrap" : "apply"),
    opts.who,
    opts.req,
  );
  if (job) opts.notify({ job: job.id, elapsed: 0, done: 0, total: 0 });
  const progress = (p: ApplyProgress) => {
    if (!job) return opts.notify(p);
    const withId = { ...p, job: job.id };
    opts.notify(withId);
    history!.live.progress(job.id, withId);
  };
  let report: ApplyReport;
  try {
    // Each role marked corrective as it ends, so a client printing hosts as they end sees it too.
    report = await run(progress, (e) => {
      if (job && e.type === "role_end") history!.markRole(e.host, e.role);
    });
  } catch (err) {
    job?.fail(errorMessage(err));
    throw err;
  } finally {
    jobEnded();
  }
  job?.end(report);
  return report;
}

const KINDS: ReadonlySet<string> = new Set<JobKind>([
  "apply",
  "run",
  "deploy",
  "bootstrap",
  "scheduled",
  "pull",
]);

function jobFilter(p: unknown): JobFilter {
  const o = obj(p ?? {}, "jobs.list");
  const f: JobFilter = {};
  const host = optStr(o.host, "host");
  if (host) f.host = host;
  if (o.failed !== undefined) f.failed = bool(o.failed, "failed");
  const kind = optStr(o.kind, "kind");
  if (kind !== undefined) {
    if (!KINDS.has(kind))
      throw new UsageError(`--kind must be one of ${[...KINDS].join(", ")}, not ${kind}`);
    f.kind = kind as JobKind;
  }
  if (o.since !== undefined) f.since = int(o.since, "since");
  if (o.limit !== undefined) f.limit = Math.min(Math.max(1, int(o.limit, "limit")), 10_000);
  return f;
}

function available(history: Recorder | undefined): Recorder {
  if (!history) throw new SaltyError("this master keeps no job history", "E_NO_HISTORY");
  return history;
}

function jobId(p: unknown, what: string): string {
  const id = str(obj(p, what).id, "id");
  if (!JOB_ID.test(id))
    throw new UsageError(
      `${JSON.stringify(id)} is not a job id (YYYYMMDD-HHMMSS-NNNN[-TAG]; see salty jobs)`,
    );
  return id;
}

/** One job of the history (a spooled one too); undefined when there is none. */
export async function jobsShow(
  history: Recorder | undefined,
  id: string,
): Promise<JobRecord | undefined> {
  if (!JOB_ID.test(id))
    throw new UsageError(
      `${JSON.stringify(id)} is not a job id (YYYYMMDD-HHMMSS-NNNN[-TAG]; see salty jobs)`,
    );
  const h = available(history);
  return (await h.spooled(id)) ?? (await unavailableAs(() => h.store.show(id)));
}

/** `notify`: progress to this client, for the jobs it follows. */
export function jobHandlers(
  history: Recorder | undefined,
  notify: (p: ApplyProgress) => void,
): Pick<Handlers<ControlApi>, "jobs.list" | "jobs.show" | "jobs.follow"> {
  const show = async (id: string) => {
    const h = available(history);
    const job = (await h.spooled(id)) ?? (await unavailableAs(() => h.store.show(id)));
    if (!job)
      throw new SaltyError(
        `no job ${id} in the history (see salty jobs; jobs past --history-keep or --history-days are pruned)`,
        "E_NOT_FOUND",
      );
    return job;
  };
  return {
    "jobs.list": async (p) => {
      const f = jobFilter(p);
      const h = available(history);
      await h.flush(); // records still batched are written first: a job the client was answered is listed
      return unavailableAs(() => h.store.list(f));
    },
    "jobs.show": (p) => show(jobId(p, "jobs.show")),
    // A job running on this master is waited for; one that ended (or runs on another master) is shown as it is.
    "jobs.follow": (p) => {
      const id = jobId(p, "jobs.follow");
      return available(history).live.follow(id, notify) ?? show(id);
    },
  };
}

async function unavailableAs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SaltyError) throw err;
    throw new SaltyError(
      `the job history is unavailable (${errorMessage(err).split("\n")[0]}); jobs are kept in the keyroot's history-spool until it is back`,
      "E_HISTORY_DOWN",
    );
  }
}

/** The connected hosts, each with its last apply when the history holds one (and is up). */
export async function hostsWithLastApply(
  entries: Record<string, HostEntry>,
  history: Recorder | undefined,
): Promise<Record<string, HostEntry>> {
  if (!history?.healthy) return entries;
  await history.flush(); // as jobs.list: the last apply answered is the last apply shown
  const last = await history.store.lastApplies(Object.keys(entries)).catch(() => undefined);
  if (!last) return entries;
  const iso = (ms: number) => new Date(ms).toISOString();
  const out: Record<string, HostEntry> = {};
  for (const [id, e] of Object.entries(entries)) {
    const l = last.get(id);
    out[id] = l
      ? {
          ...e,
          lastApply: {
            job: l.job,
            at: iso(l.at),
            status: l.status,
            version: l.version,
            ...(l.okJob
              ? { ok: { job: l.okJob, at: iso(l.okAt!), version: l.okVersion ?? "" } }
              : {}),
          },
        }
      : e;
  }
  return out;
}
