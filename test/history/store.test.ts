// The history store (lib/history/store.ts) and its migrations, the same
// cases against SQLite and a real PostgreSQL server started by the test.
import { describe, expect, test } from "bun:test";
import { tempDirs } from "../_temp.ts";
import { HistoryStore } from "../../lib/history/store.ts";
import { endRecord, startRecord } from "../../lib/history/record.ts";
import { JobIds, idAt, jobIdAt, newJobId } from "../../lib/history/job-id.ts";
import type { ApplyReport, HostReport } from "../../lib/wire/api.ts";
import type { JobRecord } from "../../lib/history/types.ts";
import { backends } from "./_backends.ts";
import { outsideHost } from "../../lib/wire/outside.ts";

const temp = tempDirs("salty-history-");

function host(id: string, errors = 0, changed = 1, error?: string): HostReport {
  const results = [
    { cmd: `copy(motd, /etc/motd)`, rc: 0, changed: changed > 0, elapsed: 0.01 },
    ...(errors
      ? [
          {
            cmd: `role(web)`,
            rc: 1,
            changed: false,
            elapsed: 0.02,
            error: error ?? "boom\nsecond line",
          },
        ]
      : []),
  ];
  return {
    id,
    status: "ran",
    elapsed: 0.05,
    errors,
    changed,
    roles: [
      { role: "web", skipped: false, elapsed: 0.05, results, errors, changed, output: "printed\n" },
    ],
  };
}

function job(opts: {
  at: number;
  args?: string[];
  hosts: HostReport[];
  dryRun?: boolean;
}): JobRecord {
  const start = startRecord({
    id: jobIdAt(opts.at),
    kind: "apply",
    who: "local:root",
    req: { args: opts.args ?? [], dryRun: !!opts.dryRun, diff: false },
    now: opts.at,
  });
  const report: ApplyReport = {
    hosts: opts.hosts,
    elapsed: 0.1,
    rc: opts.hosts.some((h) => h.errors) ? 1 : 0,
  };
  return endRecord(start, report, opts.at + 100);
}

for (const b of backends()) {
  describe.skipIf(!!b.skip)(`history store on ${b.name}`, () => {
    const store = async () => new HistoryStore((await b.open(temp())).db);

    test("a job stored at its start and again at its end comes back as the client received it", async () => {
      const s = await store();
      try {
        const report = {
          hosts: [
            host("web1"),
            host("web2", 1),
            {
              id: "db9",
              status: "missing",
              elapsed: 0,
              errors: 1,
              changed: 0,
              roles: [],
            } satisfies HostReport,
          ],
          elapsed: 0.25,
          rc: 1,
        };
        const start = startRecord({
          id: newJobId(),
          kind: "apply",
          who: "key:ops",
          req: { args: ["target=web*", "version=abc123", "n=1"], dryRun: false, diff: false },
          now: Date.now(),
        });
        await s.put([start]);
        expect((await s.show(start.id))?.status).toBe("running");
        const done = endRecord(start, report, Date.now());
        await s.put([done]);
        const back = await s.show(start.id);
        expect(back).toEqual(done);
        expect(back?.hosts.map((h) => [h.id, h.status])).toEqual([
          ["web1", "ok"],
          ["web2", "failed"],
          ["db9", "missing"],
        ]);
        expect(back?.target).toBe("web*");
        expect(back?.version).toBe("abc123");
        const [row] = await s.list();
        expect(row).toMatchObject({
          id: start.id,
          kind: "apply",
          who: "key:ops",
          status: "failed",
          hosts: 3,
          failed: 2,
          changed: 2,
        });
        expect(await s.show("20000101-000000-0000")).toBeUndefined();
      } finally {
        await s.close();
      }
    });

    test("hosts outside the target come back at their places, stored as one value, not a row each", async () => {
      const s = await store();
      try {
        const outside = outsideHost;
        // A skipped host with a report of its own (an error) is not "outside": it keeps its row.
        const refused = { ...outside("db2"), errors: 1 };
        const hosts = [
          outside("a0"),
          host("web1"),
          outside("a1"),
          outside("a2"),
          refused,
          host("web2"),
        ];
        const done = job({ at: Date.UTC(2026, 11, 3, 10), args: ["target=web*"], hosts });
        await s.put([done]);
        const back = await s.show(done.id);
        expect(back).toEqual(done);
        expect(back?.hosts.map((h) => [h.id, h.status])).toEqual([
          ["a0", "skipped"],
          ["web1", "ok"],
          ["a1", "skipped"],
          ["a2", "skipped"],
          ["db2", "failed"],
          ["web2", "ok"],
        ]);
        const rows = await s.db.all(`SELECT host FROM job_hosts WHERE job_id = $1 ORDER BY seq`, [
          done.id,
        ]);
        expect(rows.map((r) => String(r.host))).toEqual(["web1", "db2", "web2"]);
        expect((await s.list())[0]).toMatchObject({ id: done.id, hosts: 6, failed: 1 });
        // jobs --host lists the jobs that ran on a host, not those it was outside of.
        expect((await s.list({ host: "web1" })).map((j) => j.id)).toEqual([done.id]);
        expect(await s.list({ host: "a1" })).toEqual([]);
        // A job stored again (its end after its start) keeps one copy of each.
        await s.put([done]);
        expect(await s.show(done.id)).toEqual(done);
      } finally {
        await s.close();
      }
    });

    test("a rollout's summary (batches, failed, never attempted) comes back with its job; other jobs have none", async () => {
      const s = await store();
      try {
        const rollout = {
          planned: 4,
          batches: [
            { hosts: ["web1"], failed: [] },
            { hosts: ["web2"], failed: ["web2"] },
          ],
          budget: 1,
          spent: 1,
          failed: ["web2"],
          missing: [],
          neverAttempted: ["web3", "web4"],
          stopped: "the failure budget is spent",
        };
        const start = startRecord({
          id: newJobId(),
          kind: "apply",
          who: "local:root",
          req: { args: ["batch=1"], dryRun: false, diff: false },
          now: Date.now(),
        });
        const done = endRecord(
          start,
          { hosts: [host("web1"), host("web2", 1)], elapsed: 0.2, rc: 1, rollout },
          Date.now(),
        );
        await s.put([start, done]);
        expect((await s.show(start.id))?.rollout).toEqual(rollout);
        const plain = job({ at: Date.now() - 60_000, hosts: [host("web1")] });
        await s.put([plain]);
        expect((await s.show(plain.id))?.rollout).toBeUndefined();
      } finally {
        await s.close();
      }
    });

    test("list: newest first, filtered by host, failure, kind, time and count", async () => {
      const s = await store();
      try {
        const t = Date.UTC(2026, 0, 1);
        const a = job({ at: t, hosts: [host("web1")] });
        const b2 = job({ at: t + 3_600_000, hosts: [host("web2", 1)] });
        const c = job({ at: t + 7_200_000, hosts: [host("web1"), host("web2")] });
        await s.put([a, b2, c]);
        const ids = (f = {}) => s.list(f).then((l) => l.map((j) => j.id));
        expect(await ids()).toEqual([c.id, b2.id, a.id]);
        expect(await ids({ host: "web1" })).toEqual([c.id, a.id]);
        expect(await ids({ failed: true })).toEqual([b2.id]);
        expect(await ids({ kind: "run" })).toEqual([]);
        expect(await ids({ since: t + 1 })).toEqual([c.id, b2.id]);
        expect(await ids({ limit: 1 })).toEqual([c.id]);
      } finally {
        await s.close();
      }
    });

    test("prune keeps the newest N jobs and none older than D days", async () => {
      const s = await store();
      try {
        const now = Date.UTC(2026, 5, 1);
        const jobs = [10, 5, 3, 2, 1].map((daysAgo) =>
          job({ at: now - daysAgo * 86_400_000, hosts: [host("web1")] }),
        );
        await s.put(jobs);
        expect(await s.prune({ keep: 100, maxAgeMs: 7 * 86_400_000, now })).toBe(1);
        expect((await s.list()).length).toBe(4);
        expect(await s.prune({ keep: 2, maxAgeMs: 7 * 86_400_000, now })).toBe(2);
        expect((await s.list()).map((j) => j.id)).toEqual([jobs[4]!.id, jobs[3]!.id]);
        expect(await s.show(jobs[0]!.id)).toBeUndefined();
        expect(await s.prune({ keep: 2, maxAgeMs: 7 * 86_400_000, now })).toBe(0);
      } finally {
        await s.close();
      }
    });

    test("last apply per host: the newest one, and the newest successful one with its version; dry runs do not count", async () => {
      const s = await store();
      try {
        const t = Date.UTC(2026, 0, 1);
        await s.put([job({ at: t, args: ["version=v1"], hosts: [host("web1"), host("web2")] })]);
        const failed = job({
          at: t + 1000,
          args: ["version=v2"],
          hosts: [host("web1", 1), host("web2")],
        });
        await s.put([failed]);
        await s.put([
          job({
            at: t + 2000,
            args: ["version=v3"],
            dryRun: true,
            hosts: [host("web1"), host("web2")],
          }),
        ]);
        const last = await s.lastApplies();
        expect(last.get("web1")).toMatchObject({
          job: failed.id,
          status: "failed",
          version: "v2",
          okVersion: "v1",
        });
        expect(last.get("web2")).toMatchObject({
          job: failed.id,
          status: "ok",
          version: "v2",
          okVersion: "v2",
          okJob: failed.id,
        });
        expect([...(await s.lastApplies(["web2"])).keys()]).toEqual(["web2"]);
      } finally {
        await s.close();
      }
    });

    test("migrations run once: a second store on the same database finds the jobs", async () => {
      const dir = temp();
      const first = await b.open(dir);
      const s1 = new HistoryStore(first.db);
      const j = job({ at: Date.now(), hosts: [host("web1")] });
      await s1.put([j]);
      await s1.close();
      const again =
        b.name === "sqlite"
          ? await b.open(dir)
          : { db: (await import("../../lib/history/postgres.ts")).openPostgres(first.url!) };
      const s2 = new HistoryStore(again.db);
      try {
        expect((await s2.list()).map((x) => x.id)).toEqual([j.id]);
      } finally {
        await s2.close();
      }
    });
  });
}

test("job ids sort as the jobs started and say when", () => {
  const t = Date.UTC(2026, 11, 3, 12, 45, 1, 500);
  const clock = new JobIds();
  const ids = [clock.next(t), clock.next(t), clock.next(t + 1000), clock.next(t - 5000)];
  expect(ids[0]).toBe("20261203-124501-0000");
  expect(ids[1]).toBe("20261203-124501-0001");
  expect(ids[2]).toBe("20261203-124502-0000");
  expect(ids[3]! > ids[2]!).toBe(true); // a clock that goes back does not go back in ids
  expect(idAt(t)).toBe("20261203-124501-0000");
});
