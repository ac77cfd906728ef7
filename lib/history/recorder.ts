// The master's job recorder: the one object the apply path talks to. Starting
// or ending a job only puts its record in a queue and logs one line; the
// queue is written in the background (a transaction per batch, timing.
// historyFlushMs after the first record waiting), then pruned every so often.
// A write that fails (database down, or full) spools the records in the
// keyroot (spool.ts), says so once in the log, and retries every
// timing.historyRetryMs until the database takes them; then it says so once
// more. Nothing here ever throws into an apply.

import { timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { ApplyReport, ApplyRequest, RoleOutcome } from "../wire/api.ts";
import { newJobId } from "./job-id.ts";
import { endFields, endRecord, failedRecord, failures, startRecord } from "./record.ts";
import { Spool } from "./spool.ts";
import { LiveJobs } from "./live.ts";
import type { HistoryStore } from "./store.ts";
import type { JobKind, JobRecord } from "./types.ts";

export interface RecorderOptions {
  store: HistoryStore;
  spoolDir: string;
  /** Jobs kept, and the oldest kept (milliseconds). */
  keep: number;
  maxAgeMs: number;
  /** Four hex digits after each id (a master sharing a PostgreSQL history with others). */
  idTag?: string;
}

export interface JobHandle {
  readonly id: string;
  /** The report as the client receives it. */
  end(report: ApplyReport): void;
  /** The job failed as a whole (no report): its error's first line is kept. */
  fail(error: string): void;
}

/** Jobs written between two prunes. */
const PRUNE_EVERY = 25;

export class Recorder {
  private pending = new Map<string, JobRecord>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  private down: string | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private sincePrune = PRUNE_EVERY; // prune once soon after start
  private spool: Spool;
  private closed = false;
  private startedAt = Date.now();
  /** Each role's last successful inputs by `host\0role`, loaded once the database answers. */
  private lastInputs: Map<string, string> | undefined;
  /** The jobs running now: `salty jobs follow` attaches to them. */
  readonly live = new LiveJobs();

  constructor(private opts: RecorderOptions) {
    this.spool = new Spool(opts.spoolDir, opts.keep);
    // Records left by a previous run (the database was down when it stopped) are written first;
    // then its jobs that never ended are closed.
    this.retryTimer = setTimeout(
      () =>
        void this.retry()
          .then(() => this.closeAbandoned())
          .then(() => this.loadInputs()),
      0,
    );
  }

  get store(): HistoryStore {
    return this.opts.store;
  }

  /** A job still waiting in the spool (the database was down when it ended). */
  async spooled(id: string): Promise<JobRecord | undefined> {
    return (
      this.pending.get(id) ?? (this.down === undefined ? undefined : await this.spool.read(id))
    );
  }

  /** Whether the database is taking writes now (false while records are spooled). */
  get healthy(): boolean {
    return this.down === undefined;
  }

  start(kind: JobKind, who: string, req: ApplyRequest): JobHandle {
    const id = this.opts.idTag ? `${newJobId()}-${this.opts.idTag}` : newJobId();
    const started = startRecord({ id, kind, who, req, now: Date.now() });
    log("job.start", {
      job: started.id,
      kind,
      target: started.target || "*",
      who,
      ...(started.version ? { version: started.version } : {}),
      ...(req.dryRun ? { dry_run: true } : {}),
    });
    this.enqueue(started);
    this.live.begin(started.id);
    return {
      id: started.id,
      end: (report) => {
        this.markCorrective(report, req.dryRun);
        const done = endRecord(started, report, Date.now());
        log("job.end", endFields(done));
        for (const f of failures(done)) log("job.failure", f);
        this.enqueue(done);
        this.live.end(done);
      },
      fail: (error) => {
        const done = failedRecord(started, error, Date.now());
        log("job.end", { ...endFields(done), error: done.error });
        this.enqueue(done);
        this.live.end(done);
      },
    };
  }

  /**
   * A role that changed its host with the same inputs as its last successful run there is marked
   * corrective, in the report the client receives too (a dry run's would-be changes as well). Then a
   * real apply's successful runs become the ones to compare with.
   */
  private markCorrective(report: ApplyReport, dryRun: boolean): void {
    const last = this.lastInputs;
    if (!last) return; // not loaded yet (the database is down): nothing is marked
    for (const h of report.hosts) {
      for (const r of h.roles) {
        this.markRole(h.id, r);
        if (r.inputs && !dryRun && r.errors === 0 && !r.skipped)
          last.set(`${h.id}\0${r.role}`, r.inputs);
      }
    }
  }

  /** Mark one role's outcome as it ends (before a live client prints its host). */
  markRole(host: string, r: RoleOutcome): void {
    if (r.inputs && r.changed > 0 && this.lastInputs?.get(`${host}\0${r.role}`) === r.inputs)
      r.corrective = true;
  }

  private enqueue(job: JobRecord): void {
    if (this.closed) return;
    this.pending.set(job.id, job);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, timing.historyFlushMs);
  }

  /** Write what waits now; resolves when it is written or spooled. */
  flush(): Promise<void> {
    if (this.writing)
      return this.writing.then(() => (this.pending.size ? this.flush() : undefined));
    if (this.pending.size === 0) return Promise.resolve();
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.writing = this.write(batch).finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async write(batch: JobRecord[]): Promise<void> {
    if (this.down === undefined) {
      try {
        await this.opts.store.put(batch);
        this.sincePrune += batch.filter((j) => j.status !== "running").length;
        if (this.sincePrune >= PRUNE_EVERY) await this.prune();
        return;
      } catch (err) {
        this.wentDown(err);
      }
    }
    for (const job of batch) await this.toSpool(job);
  }

  private async prune(): Promise<void> {
    this.sincePrune = 0;
    const removed = await this.opts.store.prune({
      keep: this.opts.keep,
      maxAgeMs: this.opts.maxAgeMs,
    });
    if (removed) log("history.pruned", { jobs: removed });
  }

  private async toSpool(job: JobRecord): Promise<void> {
    try {
      await this.spool.write(job);
    } catch (err) {
      log("history.lost", { job: job.id, error: errorMessage(err) }); // the keyroot is full too: the job is in the log only
    }
  }

  private wentDown(err: unknown): void {
    if (this.down !== undefined) return;
    this.down = errorMessage(err).split("\n")[0] ?? "unknown error";
    log("history.unavailable", {
      backend: this.opts.store.db.kind,
      error: this.down,
      spool: this.spool.dir,
      retry_s: timing.historyRetryMs / 1000,
    });
    this.armRetry();
  }

  private armRetry(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => this.retry(), timing.historyRetryMs);
  }

  /**
   * Jobs still running in a SQLite history were this keyroot's master's, which stopped (killed, crashed)
   * before they ended: they are failed, saying so. In a shared PostgreSQL history only this master's own
   * (their ids end with its tag): the other masters' running jobs are theirs.
   */
  private async closeAbandoned(): Promise<void> {
    if (this.down !== undefined) return;
    const tag = this.opts.store.db.kind === "sqlite" ? undefined : this.opts.idTag;
    if (this.opts.store.db.kind !== "sqlite" && !tag) return;
    const n = await this.opts.store
      .abandonRunning(this.startedAt, Date.now(), "the master stopped before the job ended", tag)
      .catch(() => 0);
    if (n) log("history.abandoned", { jobs: n });
  }

  private async loadInputs(): Promise<void> {
    if (this.lastInputs) return;
    try {
      const loaded = await this.opts.store.lastInputs();
      this.lastInputs ??= loaded;
    } catch {} // the database is down: loaded when it is back (retry)
  }

  /** Replay the spool, oldest first; the database is back when all of it is written. */
  private async retry(): Promise<void> {
    this.retryTimer = undefined;
    await this.writing;
    let written = 0;
    try {
      // Jobs that end while the replay runs are spooled too: go on until none is left.
      for (let ids = await this.spool.ids(); ids.length; ids = await this.spool.ids()) {
        for (const id of ids) {
          const job = await this.spool.read(id);
          if (job) await this.opts.store.put([job]);
          await this.spool.remove(id);
          written++;
        }
      }
    } catch (err) {
      if (this.down === undefined) this.wentDown(err);
      else this.armRetry();
      return;
    }
    if (this.down !== undefined)
      log("history.recovered", { backend: this.opts.store.db.kind, written });
    this.down = undefined;
    await this.loadInputs();
    if (written) this.sincePrune += written;
    if (this.pending.size) await this.flush();
  }

  /** Write or spool everything waiting, then close the database. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.opts.store.close().catch(() => {});
  }
}
