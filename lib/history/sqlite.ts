// The embedded backend: one SQLite file (KEYROOT/history.db) through
// bun:sqlite, in WAL mode, with freed pages given back after each prune
// (auto_vacuum incremental) and an optional size cap (max_page_count): past
// it a write fails with "database or disk is full", which the recorder
// treats like a database that is down. Statements are synchronous: the
// recorder calls them off the apply's path.

import { Database, type SQLQueryBindings } from "bun:sqlite";
import type { Db, Row, Sql } from "./db.ts";

/** $1 → ?1: the store writes PostgreSQL's placeholders, SQLite numbers them with ?. Once per text (a few hundred a job at 200 hosts). */
const converted = new Map<string, string>();
const positional = (text: string) => {
  let out = converted.get(text);
  if (out === undefined) {
    out = text.replace(/\$(\d+)/g, "?$1");
    // Texts are the store's own few statements; a filter's variants are bounded too, but never many kept.
    if (converted.size < 256) converted.set(text, out);
  }
  return out;
};

export function openSqlite(path: string, opts: { maxBytes?: number } = {}): Db {
  const db = new Database(path, { create: true });
  db.run("PRAGMA busy_timeout = 2000");
  // auto_vacuum takes effect only on a new, empty file: set it before any table.
  db.run("PRAGMA auto_vacuum = INCREMENTAL");
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA journal_size_limit = 4194304");
  if (opts.maxBytes) {
    const pageSize = Number(
      (db.query("PRAGMA page_size").get() as { page_size: number }).page_size,
    );
    db.run(`PRAGMA max_page_count = ${Math.max(16, Math.floor(opts.maxBytes / pageSize))}`);
  }
  const sql: Sql = {
    run: async (text, params = []) =>
      void db.query(positional(text)).run(...(params as SQLQueryBindings[])),
    all: async (text, params = []) =>
      db.query(positional(text)).all(...(params as SQLQueryBindings[])) as Row[],
  };
  return {
    kind: "sqlite",
    ...sql,
    async transaction(fn) {
      db.run("BEGIN IMMEDIATE");
      try {
        await fn(sql);
        db.run("COMMIT");
      } catch (err) {
        if (db.inTransaction) db.run("ROLLBACK");
        throw err;
      }
    },
    async compact() {
      db.run("PRAGMA incremental_vacuum");
    },
    async close() {
      db.close();
    },
  };
}
