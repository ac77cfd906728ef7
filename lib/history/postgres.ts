// The shared backend for several masters: PostgreSQL through Bun's built-in
// SQL client (`--db postgres://…`). A server that is down makes each
// statement fail within the connection timeout; the recorder spools and
// retries. Numbers come back as strings from BIGINT columns: the store
// converts every number it reads.

// Only the type is imported: a value import of "bun" makes the compiled
// executable evaluate Bun's SQL client at start, ~3 ms of every command's CPU.
import type { SQL } from "bun";
import type { Db, Sql } from "./db.ts";
import { timing } from "../constants.ts";
import { SaltyError } from "../errors.ts";

/** A server that accepts but never answers (stopped, overloaded) is treated as down after timing.historyTimeoutMs. */
function within<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SaltyError(
            `PostgreSQL did not answer within ${timing.historyTimeoutMs / 1000}s`,
            "E_HISTORY_TIMEOUT",
          ),
        ),
      timing.historyTimeoutMs,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function openPostgres(url: string): Db {
  const client = new Bun.SQL({
    url,
    max: 2,
    connectionTimeout: 5,
    idleTimeout: 60,
    onnotice: () => {},
  } as ConstructorParameters<typeof SQL>[0]);
  const over = (q: Pick<SQL, "unsafe">): Sql => ({
    run: async (text, params = []) => void (await q.unsafe(text, params)),
    all: async (text, params = []) => [...(await q.unsafe(text, params))],
  });
  const top = over(client);
  return {
    kind: "postgres",
    migrationLock: "SELECT pg_advisory_xact_lock(5815161810)", // any fixed number: salty's migrations
    run: (text, params) => within(top.run(text, params)),
    all: (text, params) => within(top.all(text, params)),
    async transaction(fn) {
      await within(client.begin(async (tx) => fn(over(tx))));
    },
    async compact() {}, // autovacuum gives PostgreSQL's freed space back
    async close() {
      await client.close({ timeout: 1 });
    },
  };
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}
