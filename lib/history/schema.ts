// The history's tables, as migrations both backends share (SQLite and
// PostgreSQL): portable SQL only (TEXT, BIGINT, DOUBLE PRECISION, INTEGER,
// INSERT … ON CONFLICT … DO UPDATE). A migration is never edited once
// released: a change is a new one at the end.

import type { Db } from "./db.ts";

export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE jobs (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      who TEXT NOT NULL,
      target TEXT NOT NULL,
      args TEXT NOT NULL,
      version TEXT NOT NULL,
      dry_run INTEGER NOT NULL,
      started_at BIGINT NOT NULL,
      ended_at BIGINT,
      status TEXT NOT NULL,
      elapsed DOUBLE PRECISION,
      rc INTEGER,
      error TEXT,
      hosts INTEGER NOT NULL,
      failed INTEGER NOT NULL,
      changed INTEGER NOT NULL
    )`,
    `CREATE TABLE job_hosts (
      job_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      host TEXT NOT NULL,
      status TEXT NOT NULL,
      errors INTEGER NOT NULL,
      changed INTEGER NOT NULL,
      elapsed DOUBLE PRECISION NOT NULL,
      report TEXT NOT NULL,
      PRIMARY KEY (job_id, seq)
    )`,
    `CREATE INDEX job_hosts_host ON job_hosts (host, job_id)`,
    `CREATE TABLE host_last (
      host TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      at BIGINT NOT NULL,
      status TEXT NOT NULL,
      version TEXT NOT NULL,
      ok_job_id TEXT,
      ok_at BIGINT,
      ok_version TEXT
    )`,
  ],
  // The inputs of each role's last successful run on each host (corrective changes: lib/history/inputs.ts).
  [
    `CREATE TABLE role_last (
      host TEXT NOT NULL,
      role TEXT NOT NULL,
      inputs TEXT NOT NULL,
      job_id TEXT NOT NULL,
      PRIMARY KEY (host, role)
    )`,
  ],
  // A rollout's summary (batches, failed and never-attempted hosts) as JSON; NULL for any other job.
  [`ALTER TABLE jobs ADD COLUMN rollout TEXT`],
  // Deploy tokens (lib/deploy/tokens.ts): only the SHA-256 of each secret is kept.
  [
    `CREATE TABLE deploy_tokens (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      project TEXT NOT NULL,
      deployment TEXT,
      hash TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      expires_at BIGINT,
      revoked_at BIGINT
    )`,
  ],
  // Several masters on one PostgreSQL (issue 22): agent and client keys (lib/master/keystore-db.ts), and which
  // master each agent is connected to, with a heartbeat (lib/master/presence.ts). Unused with SQLite.
  [
    `CREATE TABLE salty_keys (
      kind TEXT NOT NULL,
      id TEXT NOT NULL,
      status TEXT NOT NULL,
      public_key TEXT NOT NULL,
      address TEXT,
      first_contact TEXT,
      PRIMARY KEY (kind, id, status)
    )`,
    `CREATE TABLE agent_presence (
      agent TEXT NOT NULL,
      master TEXT NOT NULL,
      connected_at BIGINT NOT NULL,
      seen_at BIGINT NOT NULL,
      PRIMARY KEY (agent, master)
    )`,
  ],
  // The hosts outside a job's target as one JSON {at, ids} (lib/wire/outside.ts), not a job_hosts row each:
  // an apply to 1,000 of 10,000 hosts wrote 9,000 rows of the same empty report.
  [`ALTER TABLE jobs ADD COLUMN outside TEXT`],
];

/**
 * Bring the database up to the last migration, in one transaction that holds the backend's migration
 * lock (several masters starting at once on one PostgreSQL: one migrates, the others then find it done).
 */
export async function migrate(db: Db): Promise<number> {
  await db.transaction(async (tx) => {
    if (db.migrationLock) await tx.run(db.migrationLock);
    await tx.run(`CREATE TABLE IF NOT EXISTS salty_schema (version INTEGER NOT NULL)`);
    const rows = await tx.all(`SELECT MAX(version) AS v FROM salty_schema`);
    for (let v = Number(rows[0]?.v ?? 0) + 1; v <= MIGRATIONS.length; v++) {
      for (const stmt of MIGRATIONS[v - 1]!) await tx.run(stmt);
      await tx.run(`INSERT INTO salty_schema (version) VALUES ($1)`, [v]);
    }
  });
  return MIGRATIONS.length;
}

/** migrate() once, on first use, and again after a failure (a server that was down): for each store over `db`. */
export function migratedOnce(db: Db): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () =>
    (ready ??= migrate(db).then(
      () => undefined,
      (err) => {
        ready = undefined;
        throw err;
      },
    ));
}
