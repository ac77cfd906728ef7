// The two backends the history tests run against: SQLite in a temp keyroot,
// and a real PostgreSQL server (_postgres.ts) with a new database per test.

import { afterAll, beforeAll } from "bun:test";
import { SQL } from "bun";
import { join } from "node:path";
import { openPostgres } from "../../lib/history/postgres.ts";
import { openSqlite } from "../../lib/history/sqlite.ts";
import type { Db } from "../../lib/history/db.ts";
import { startPostgres, unavailable, type PgServer } from "./_postgres.ts";

export interface Backend {
  name: string;
  /** Why this backend cannot be tested here (then its tests are skipped), or undefined. */
  skip?: string;
  /** A fresh, empty database; `dir` is the test's keyroot. */
  open(dir: string, opts?: { maxBytes?: number }): Promise<{ db: Db; url?: string }>;
  server?(): PgServer;
}

let pg: PgServer | undefined;
let dbs = 0;
const pgSkip = unavailable();
if (pgSkip) console.warn(`SKIPPED (postgres): ${pgSkip}`);

/** Call at the top of a test file: starts the PostgreSQL server once for the file. */
export function backends(): Backend[] {
  beforeAll(async () => {
    if (!pgSkip) pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await pg?.[Symbol.asyncDispose]();
  });
  return [
    {
      name: "sqlite",
      open: async (dir, opts) => ({ db: openSqlite(join(dir, "history.db"), opts) }),
    },
    {
      name: "postgres",
      ...(pgSkip ? { skip: pgSkip } : {}),
      async open() {
        const name = `t${++dbs}`;
        const admin = new SQL({ url: pg!.url });
        await admin.unsafe(`CREATE DATABASE ${name}`);
        await admin.close();
        const url = pg!.url.replace("/postgres?", `/${name}?`);
        return { db: openPostgres(url), url };
      },
      server: () => pg!,
    },
  ];
}
