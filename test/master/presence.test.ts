// Several masters' presence table on a real PostgreSQL server (lib/master/presence.ts):
// connects and disconnects written in batches (1,200 agents: past one statement's
// 500), read by another master; a master's rows go when it closes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openPostgres } from "../../lib/history/postgres.ts";
import { presence } from "../../lib/master/presence.ts";
import { startPostgres, unavailable, type PgServer } from "../history/_postgres.ts";

const noPg = unavailable();

async function until(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(50);
  }
}

describe.skipIf(Boolean(noPg))("presence on PostgreSQL", () => {
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.[Symbol.asyncDispose]();
  });

  test("1,200 agents connected to m1 are seen from m2; those that left are not; m1's close removes the rest", async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => `agent${i}`);
    const held = new Set<string>();
    const m1 = presence(openPostgres(pg.url), "m1", () => [...held]);
    const m2 = presence(openPostgres(pg.url), "m2", () => []);
    let closed = false;
    try {
      for (const id of ids) {
        held.add(id);
        m1.connected(id);
      }
      await until("all 1,200 seen from m2", async () => (await m2.elsewhere(ids)).size === 1200);
      expect((await m2.elsewhere(["agent7", "nobody"])).get("agent7")).toBe("m1");
      expect((await m1.elsewhere(ids)).size).toBe(0); // a master's own rows are not "elsewhere"
      for (const id of ids.slice(0, 600)) {
        held.delete(id);
        m1.disconnected(id);
      }
      await until("600 left", async () => (await m2.elsewhere(ids)).size === 600);
      expect((await m2.elsewhere(ids)).has("agent0")).toBe(false);
      await m1.close();
      closed = true;
      expect((await m2.elsewhere(ids)).size).toBe(0);
    } finally {
      if (!closed) await m1.close();
      await m2.close();
    }
  });
});
