// The master's history, opened from its options: SQLite in KEYROOT/history.db
// unless --db names a PostgreSQL server. Opening never fails for a server
// that is down: the recorder spools until it answers.

import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import { openSqlite } from "./sqlite.ts";
import { isPostgresUrl, openPostgres } from "./postgres.ts";
import { HistoryStore } from "./store.ts";
import { Recorder } from "./recorder.ts";

export interface HistoryOptions {
  keyroot: string;
  /** postgres://… ; absent: SQLite in the keyroot. */
  db?: string;
  /** Jobs kept (default 10,000) and days kept (default 90). */
  keep?: number;
  days?: number;
  /** SQLite only: the file's largest size; past it writes are spooled like a database that is down. */
  maxBytes?: number;
}

export const HISTORY_DEFAULTS = { keep: 10_000, days: 90, maxMb: 1024 };

export function openStore(opts: HistoryOptions): HistoryStore {
  if (opts.db !== undefined && !isPostgresUrl(opts.db))
    throw new UsageError(
      `--db must be a postgres:// or postgresql:// URL (default: ${join(opts.keyroot, "history.db")})`,
    );
  const db = opts.db
    ? openPostgres(opts.db)
    : openSqlite(join(opts.keyroot, "history.db"), {
        maxBytes: opts.maxBytes ?? HISTORY_DEFAULTS.maxMb * 1024 * 1024,
      });
  return new HistoryStore(db);
}

export function openRecorder(opts: HistoryOptions): Recorder {
  // Several masters may share a PostgreSQL history: this one's ids end with a tag of its host and keyroot.
  const idTag = opts.db
    ? createHash("sha256")
        .update(`${hostname()}\0${resolve(opts.keyroot)}`)
        .digest("hex")
        .slice(0, 4)
    : undefined;
  return new Recorder({
    ...(idTag ? { idTag } : {}),
    store: openStore(opts),
    spoolDir: join(opts.keyroot, "history-spool"),
    keep: opts.keep ?? HISTORY_DEFAULTS.keep,
    maxAgeMs: (opts.days ?? HISTORY_DEFAULTS.days) * 86_400_000,
  });
}
