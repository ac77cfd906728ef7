// The recorder (lib/history/recorder.ts): records written in the background,
// and a database that is down (a real PostgreSQL server stopped) or full (a
// SQLite file at its size cap) never loses a job nor fails the caller: the
// records wait in the keyroot's spool, the log says so once, and they are
// written when the database takes them again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDirs } from "../_temp.ts";
import { setLogSink } from "../../lib/log.ts";
import { timing } from "../../lib/constants.ts";
import { HistoryStore } from "../../lib/history/store.ts";
import { Recorder } from "../../lib/history/recorder.ts";
import { openSqlite } from "../../lib/history/sqlite.ts";
import type { ApplyReport } from "../../lib/wire/api.ts";
import { backends } from "./_backends.ts";

const temp = tempDirs("salty-recorder-");
const logs: string[] = [];
const saved = { ...timing };

beforeAll(() => {
  setLogSink((l) => logs.push(l));
  timing.historyRetryMs = 200;
  timing.historyFlushMs = 10;
});
afterAll(() => {
  setLogSink((l) => process.stderr.write(l + "\n"));
  Object.assign(timing, saved);
});

function report(output = "ok\n"): ApplyReport {
  return {
    hosts: [
      {
        id: "web1",
        status: "ran",
        elapsed: 0.01,
        errors: 0,
        changed: 1,
        roles: [
          {
            role: "web",
            skipped: false,
            elapsed: 0.01,
            errors: 0,
            changed: 1,
            output,
            results: [{ cmd: "copy(a, /b)", rc: 0, changed: true, elapsed: 0.01 }],
          },
        ],
      },
    ],
    elapsed: 0.02,
    rc: 0,
  };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(50);
  }
}

const count = (re: RegExp) => logs.filter((l) => re.test(l)).length;

const all = backends();

for (const b of all) {
  describe.skipIf(!!b.skip)(`recorder on ${b.name}`, () => {
    test("a job is logged at its start and end and written in the background", async () => {
      const dir = temp();
      const store = new HistoryStore((await b.open(dir)).db);
      const rec = new Recorder({
        store,
        spoolDir: join(dir, "history-spool"),
        keep: 100,
        maxAgeMs: 86_400_000,
      });
      try {
        const job = rec.start("apply", "local:root", {
          args: ["target=web1"],
          dryRun: false,
          diff: false,
        });
        expect(
          logs.some((l) =>
            l.includes(`job.start job=${job.id} kind=apply target=web1 who=local:root`),
          ),
        ).toBe(true);
        job.end(report());
        expect(
          logs.some((l) =>
            new RegExp(
              `job\\.end job=${job.id} kind=apply target=web1 hosts=1 failed=0 changed=1 elapsed=0\\.02 rc=0`,
            ).test(l),
          ),
        ).toBe(true);
        const stored = await until(
          "the job is stored",
          async () => (await store.show(job.id))?.status === "ok" && store.show(job.id),
        );
        expect(stored?.hosts[0]?.report).toEqual(report().hosts[0]!);
      } finally {
        await rec.close();
      }
    });
  });
}

describe("the database down or full", () => {
  const pgBackend = all.find((b) => b.name === "postgres");
  test.skipIf(!!pgBackend!.skip)(
    "postgres stopped: jobs are spooled, the log says so once, and they are written when it is back",
    async () => {
      const dir = temp();
      const { db, url } = await pgBackend!.open(dir);
      const store = new HistoryStore(db);
      const spoolDir = join(dir, "history-spool");
      const rec = new Recorder({ store, spoolDir, keep: 100, maxAgeMs: 86_400_000 });
      const before = count(/history\.unavailable/);
      try {
        const first = rec.start("apply", "local:root", { args: [], dryRun: false, diff: false });
        first.end(report());
        await rec.flush();
        expect((await store.show(first.id))?.status).toBe("ok");
        await pgBackend!.server!().stop();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const j = rec.start("apply", "local:root", {
            args: [`n=${i}`],
            dryRun: false,
            diff: false,
          });
          j.end(report());
          ids.push(j.id);
          await rec.flush();
        }
        expect(readdirSync(spoolDir).sort()).toEqual(ids.map((id) => `${id}.json`));
        expect(count(/history\.unavailable backend=postgres/) - before).toBe(1);
        expect(logs.join("\n")).not.toContain(url!); // the URL may hold a password
        await pgBackend!.server!().start();
        await until("the spooled jobs are written", async () => readdirSync(spoolDir).length === 0);
        expect((await store.list()).map((j) => j.id)).toEqual([...ids].reverse().concat(first.id));
        expect(count(/history\.recovered backend=postgres written=3/)).toBe(1);
      } finally {
        await rec.close();
      }
    },
    90_000,
  );

  test.skipIf(!!pgBackend!.skip)(
    "two masters sharing a PostgreSQL history never make the same job id",
    async () => {
      const dir = temp();
      const { url } = await pgBackend!.open(dir);
      const { openPostgres } = await import("../../lib/history/postgres.ts");
      const recs = ["a3f9", "07bc"].map(
        (idTag) =>
          new Recorder({
            store: new HistoryStore(openPostgres(url!)),
            spoolDir: join(dir, idTag),
            keep: 100,
            maxAgeMs: 86_400_000,
            idTag,
          }),
      );
      try {
        const jobs = recs.map((r) =>
          r.start("apply", "local:root", { args: [], dryRun: false, diff: false }),
        );
        jobs.forEach((j) => j.end(report()));
        await Promise.all(recs.map((r) => r.flush()));
        expect(jobs[0]!.id).toMatch(/^\d{8}-\d{6}-\d{4}-a3f9$/);
        expect(jobs[1]!.id).toMatch(/^\d{8}-\d{6}-\d{4}-07bc$/);
        expect((await recs[0]!.store.list()).map((j) => j.id).sort()).toEqual(
          jobs.map((j) => j.id).sort(),
        );
      } finally {
        await Promise.all(recs.map((r) => r.close()));
      }
    },
    60_000,
  );

  test.skipIf(!!pgBackend!.skip)(
    "postgres frozen (it accepts, never answers): the write times out, jobs are spooled, and written once it thaws",
    async () => {
      const dir = temp();
      const store = new HistoryStore((await pgBackend!.open(dir)).db);
      const spoolDir = join(dir, "history-spool");
      const rec = new Recorder({ store, spoolDir, keep: 100, maxAgeMs: 86_400_000 });
      const before = count(
        /history\.unavailable backend=postgres error="PostgreSQL did not answer within 0\.5s"/,
      );
      const server = pgBackend!.server!();
      timing.historyTimeoutMs = 500;
      try {
        await store.list(); // connected and migrated before the freeze
        server.signal("SIGSTOP");
        const job = rec.start("apply", "local:root", { args: [], dryRun: false, diff: false });
        job.end(report());
        await rec.flush();
        expect(readdirSync(spoolDir)).toEqual([`${job.id}.json`]);
        expect(
          count(
            /history\.unavailable backend=postgres error="PostgreSQL did not answer within 0\.5s"/,
          ) - before,
        ).toBe(1);
        server.signal("SIGCONT");
        await until(
          "the job is written after the thaw",
          async () =>
            readdirSync(spoolDir).length === 0 && (await store.show(job.id))?.status === "ok",
        );
      } finally {
        server.signal("SIGCONT");
        timing.historyTimeoutMs = saved.historyTimeoutMs;
        await rec.close();
      }
    },
    60_000,
  );

  test("sqlite at its size cap: jobs are spooled, and written once the master starts again with room", async () => {
    const dir = temp();
    const spoolDir = join(dir, "history-spool");
    const before = count(/history\.unavailable backend=sqlite/);
    const small = new Recorder({
      store: new HistoryStore(openSqlite(join(dir, "history.db"), { maxBytes: 64 * 1024 })),
      spoolDir,
      keep: 100,
      maxAgeMs: 86_400_000,
    });
    const big = small.start("apply", "local:root", { args: [], dryRun: false, diff: false });
    big.end(report("x".repeat(300_000)));
    await small.flush();
    const after = small.start("apply", "local:root", { args: [], dryRun: false, diff: false });
    after.end(report());
    await small.flush();
    expect(small.healthy).toBe(false);
    expect(readdirSync(spoolDir).sort()).toEqual([`${big.id}.json`, `${after.id}.json`]);
    expect(
      count(/history\.unavailable backend=sqlite error="database or disk is full"/) - before,
    ).toBe(1);
    await small.close();
    const store = new HistoryStore(openSqlite(join(dir, "history.db")));
    const again = new Recorder({ store, spoolDir, keep: 100, maxAgeMs: 86_400_000 });
    try {
      await until("the spool is replayed at start", async () => readdirSync(spoolDir).length === 0);
      expect((await store.list()).map((j) => j.id)).toEqual([after.id, big.id]);
      expect((await store.show(big.id))?.hosts[0]?.report.roles[0]?.output?.length).toBe(300_000);
      expect(existsSync(join(dir, "history.db-wal"))).toBe(true); // WAL mode
    } finally {
      await again.close();
    }
  }, 60_000);
});
