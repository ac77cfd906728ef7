// The job history's queries over either backend (db.ts): store a job (the
// same call at its start and its end: an upsert), list with filters, show
// one, prune, and each host's last apply. Knows nothing of when it is called:
// the recorder (recorder.ts) keeps it off the apply's path.

import { mergeOutside, outsideHost, splitOutside } from "../wire/outside.ts";
import type { Db, Row, Sql } from "./db.ts";
import { migratedOnce } from "./schema.ts";
import { idAt } from "./job-id.ts";
import { jobHost } from "./record.ts";
import type {
  JobFilter,
  JobHost,
  JobKind,
  JobRecord,
  JobStatus,
  JobSummary,
  HostVerdict,
  LastApply,
} from "./types.ts";

const SUMMARY = `id, kind, who, target, version, dry_run, started_at, ended_at, status, elapsed, hosts, failed, changed`;

export class HistoryStore {
  /** Migrations run on first use, and again after a failure (a server that was down). */
  readonly migrated: () => Promise<void>;

  constructor(readonly db: Db) {
    this.migrated = migratedOnce(db);
  }

  /** Store jobs (new or updated) in one transaction. */
  async put(jobs: JobRecord[]): Promise<void> {
    await this.migrated();
    await this.db.transaction(async (tx) => {
      for (const job of jobs) await putJob(tx, job);
    });
  }

  async list(f: JobFilter = {}): Promise<JobSummary[]> {
    await this.migrated();
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => (params.push(v), `$${params.length}`);
    if (f.kind) where.push(`kind = ${p(f.kind)}`);
    if (f.failed) where.push(`status = 'failed'`);
    if (f.since !== undefined) where.push(`started_at >= ${p(f.since)}`);
    if (f.host) where.push(`id IN (SELECT job_id FROM job_hosts WHERE host = ${p(f.host)})`);
    const text = `SELECT ${SUMMARY} FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${p(f.limit ?? 20)}`;
    return (await this.db.all(text, params)).map(summary);
  }

  async show(id: string): Promise<JobRecord | undefined> {
    await this.migrated();
    const [row] = await this.db.all(
      `SELECT ${SUMMARY}, args, rc, error, rollout, outside FROM jobs WHERE id = $1`,
      [id],
    );
    if (!row) return undefined;
    const hosts = await this.db.all(
      `SELECT host, status, errors, changed, elapsed, report FROM job_hosts WHERE job_id = $1 ORDER BY seq`,
      [id],
    );
    const s = summary(row);
    const ran = hosts.map(
      (h): JobHost => ({
        id: String(h.host),
        status: String(h.status) as HostVerdict,
        errors: Number(h.errors),
        changed: Number(h.changed),
        elapsed: Number(h.elapsed),
        report: JSON.parse(String(h.report)),
      }),
    );
    const all =
      typeof row.outside === "string"
        ? mergeOutside(ran, JSON.parse(row.outside), (id) => jobHost(outsideHost(id)))
        : ran;
    if (!all) throw new Error(`job ${id}: its hosts outside the target do not fit its other hosts`);
    return {
      id: s.id,
      kind: s.kind,
      who: s.who,
      target: s.target,
      version: s.version,
      dryRun: s.dryRun,
      started: s.started,
      status: s.status,
      args: JSON.parse(String(row.args)) as string[],
      ...(s.ended !== undefined ? { ended: s.ended } : {}),
      ...(s.elapsed !== undefined ? { elapsed: s.elapsed } : {}),
      ...(row.rc !== null && row.rc !== undefined ? { rc: Number(row.rc) } : {}),
      ...(typeof row.error === "string" ? { error: row.error } : {}),
      ...(typeof row.rollout === "string" ? { rollout: JSON.parse(row.rollout) } : {}),
      hosts: all,
    };
  }

  /**
   * Jobs started before `beforeMs` (epoch ms) and still marked running are failed with `error`; returns how many.
   * `idTag`: only the jobs whose id ends with it (one master's, in a history several masters share).
   */
  async abandonRunning(
    beforeMs: number,
    now: number,
    error: string,
    idTag?: string,
  ): Promise<number> {
    await this.migrated();
    const mine = idTag ? ` AND id LIKE $2` : "";
    const tagged = idTag ? [`%-${idTag}`] : [];
    const [count] = await this.db.all(
      `SELECT COUNT(*) AS n FROM jobs WHERE status = 'running' AND started_at < $1${mine}`,
      [beforeMs, ...tagged],
    );
    const n = Number(count?.n ?? 0);
    if (n)
      await this.db.run(
        `UPDATE jobs SET status = 'failed', ended_at = $1, rc = 1, error = $2 WHERE status = 'running' AND started_at < $3${idTag ? " AND id LIKE $4" : ""}`,
        [now, error, beforeMs, ...tagged],
      );
    return n;
  }

  /** Keep the newest `keep` jobs and none older than `maxAgeMs`; returns how many jobs went. */
  async prune(opts: { keep: number; maxAgeMs: number; now?: number }): Promise<number> {
    await this.migrated();
    let cut = idAt((opts.now ?? Date.now()) - opts.maxAgeMs);
    const [nth] = await this.db.all(`SELECT id FROM jobs ORDER BY id DESC LIMIT 1 OFFSET $1`, [
      Math.max(0, opts.keep - 1),
    ]);
    if (nth && String(nth.id) > cut) cut = String(nth.id);
    const [count] = await this.db.all(`SELECT COUNT(*) AS n FROM jobs WHERE id < $1`, [cut]);
    const n = Number(count?.n ?? 0);
    if (n === 0) return 0;
    await this.db.transaction(async (tx) => {
      await tx.run(`DELETE FROM job_hosts WHERE job_id < $1`, [cut]);
      await tx.run(`DELETE FROM jobs WHERE id < $1`, [cut]);
    });
    await this.db.compact();
    return n;
  }

  /** Each host's last apply and last successful apply (every host the history knows when `hosts` is absent). */
  async lastApplies(hosts?: string[]): Promise<Map<string, LastApply>> {
    await this.migrated();
    const rows = await this.db.all(
      `SELECT host, job_id, at, status, version, ok_job_id, ok_at, ok_version FROM host_last`,
    );
    const out = new Map<string, LastApply>();
    const wanted = hosts && new Set(hosts);
    for (const r of rows) {
      if (wanted && !wanted.has(String(r.host))) continue;
      out.set(String(r.host), {
        host: String(r.host),
        job: String(r.job_id),
        at: Number(r.at),
        status: String(r.status) as HostVerdict,
        version: String(r.version),
        ...(r.ok_job_id !== null && r.ok_job_id !== undefined
          ? { okJob: String(r.ok_job_id), okAt: Number(r.ok_at), okVersion: String(r.ok_version) }
          : {}),
      });
    }
    return out;
  }

  /** The inputs of each role's last successful run, by `host\0role`. */
  async lastInputs(): Promise<Map<string, string>> {
    await this.migrated();
    const rows = await this.db.all(`SELECT host, role, inputs FROM role_last`);
    return new Map(rows.map((r) => [`${String(r.host)}\0${String(r.role)}`, String(r.inputs)]));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

async function putJob(tx: Sql, job: JobRecord): Promise<void> {
  const failed = job.hosts.filter(
    (h) => h.status === "failed" || h.status === "lost" || h.status === "missing",
  ).length;
  const changed = job.hosts.reduce((n, h) => n + h.changed, 0);
  // Hosts outside the target: one JSON value, not a row each (jobs --host lists the jobs that ran on a host).
  const { rest, outside } = splitOutside(job.hosts, (h) => h.report);
  await tx.run(
    `INSERT INTO jobs (id, kind, who, target, args, version, dry_run, started_at, ended_at, status, elapsed, rc, hosts, failed, changed, error, rollout, outside)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, status = excluded.status, elapsed = excluded.elapsed,
       rc = excluded.rc, hosts = excluded.hosts, failed = excluded.failed, changed = excluded.changed, error = excluded.error,
       rollout = excluded.rollout, outside = excluded.outside`,
    [
      job.id,
      job.kind,
      job.who,
      job.target,
      JSON.stringify(job.args),
      job.version,
      job.dryRun ? 1 : 0,
      job.started,
      job.ended ?? null,
      job.status,
      job.elapsed ?? null,
      job.rc ?? null,
      job.hosts.length,
      failed,
      changed,
      job.error ?? null,
      job.rollout ? JSON.stringify(job.rollout) : null,
      outside.ids.length ? JSON.stringify(outside) : null,
    ],
  );
  if (job.hosts.length === 0) return;
  await tx.run(`DELETE FROM job_hosts WHERE job_id = $1`, [job.id]);
  for (const [seq, h] of rest.entries()) {
    await tx.run(
      `INSERT INTO job_hosts (job_id, seq, host, status, errors, changed, elapsed, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [job.id, seq, h.id, h.status, h.errors, h.changed, h.elapsed, JSON.stringify(h.report)],
    );
  }
  if (
    !(job.kind === "apply" || job.kind === "scheduled" || job.kind === "pull") ||
    job.dryRun ||
    job.status === "running"
  )
    return;
  for (const h of rest) {
    for (const r of h.report.roles) {
      if (!r.inputs || r.errors > 0 || r.skipped) continue;
      await tx.run(
        `INSERT INTO role_last (host, role, inputs, job_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (host, role) DO UPDATE SET inputs = excluded.inputs, job_id = excluded.job_id WHERE role_last.job_id <= excluded.job_id`,
        [h.id, r.role, r.inputs, job.id],
      );
    }
  }
  for (const h of rest) {
    if (h.status === "missing" || h.status === "skipped") continue;
    const ok = h.status === "ok";
    await tx.run(
      `INSERT INTO host_last (host, job_id, at, status, version, ok_job_id, ok_at, ok_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (host) DO UPDATE SET job_id = excluded.job_id, at = excluded.at, status = excluded.status, version = excluded.version,
         ok_job_id = COALESCE(excluded.ok_job_id, host_last.ok_job_id), ok_at = COALESCE(excluded.ok_at, host_last.ok_at),
         ok_version = COALESCE(excluded.ok_version, host_last.ok_version)
       WHERE host_last.job_id <= excluded.job_id`,
      [
        h.id,
        job.id,
        job.started,
        h.status,
        job.version,
        ok ? job.id : null,
        ok ? job.started : null,
        ok ? job.version : null,
      ],
    );
  }
}

function summary(r: Row): JobSummary {
  const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
  const ended = num(r.ended_at);
  const elapsed = num(r.elapsed);
  return {
    id: String(r.id),
    kind: String(r.kind) as JobKind,
    who: String(r.who),
    target: String(r.target),
    version: String(r.version),
    dryRun: Number(r.dry_run) === 1,
    started: Number(r.started_at),
    status: String(r.status) as JobStatus,
    ...(ended !== undefined ? { ended } : {}),
    ...(elapsed !== undefined ? { elapsed } : {}),
    hosts: Number(r.hosts),
    failed: Number(r.failed),
    changed: Number(r.changed),
  };
}
