// The job history's database down or full, with the real binary (issue 18):
// an apply never fails for it, its report is spooled in the keyroot, the
// master says so once, and the jobs are written when the database takes them
// again: a SQLite file at its --history-max-mb cap (then the master restarted
// with room), and a real PostgreSQL server (--db) stopped and started again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";
import { startPostgres, unavailable, type PgServer } from "../history/_postgres.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { d1: { env: "lab", roles: ["base"] }, d2: { env: "lab", roles: ["base"] } } } };\n`,
  "roles/base.ts": `export default async ({ id, copy, print, big, shell, slow }) => {
  await copy("base/motd", "/etc/motd");
  if (slow) await shell("sleep " + slow);
  if (big) print((id + " line of output\\n").repeat(50_000));
};
`,
  "files/base/motd": "managed by salty\n",
};

const count = (text: string, re: RegExp) => text.split("\n").filter((l) => re.test(l)).length;

async function jobsList(w: World): Promise<Array<{ id: string; status: string }>> {
  const r = await w.salty(["jobs", "--json", "--keyroot", w.keyroot]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

async function untilTrue(what: string, fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(100);
  }
}

describe("SQLite at its size cap", () => {
  let w: World;
  beforeAll(async () => {
    w = await world({
      files,
      timing: JSON.stringify({
        pingIntervalMs: 300,
        peerTimeoutMs: 2000,
        backoffMinMs: 100,
        backoffMaxMs: 500,
        handshakeTimeoutMs: 2000,
        historyRetryMs: 300,
      }),
    });
    await w.startMaster(["--auto-accept", "--history-max-mb", "1"]);
    await Promise.all(["d1", "d2"].map((id) => w.startAgent(id)));
    await w.waitHosts(["d1", "d2"]);
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  test("the apply succeeds, its report waits in the keyroot, and is written when the master has room again", async () => {
    const k = ["--keyroot", w.keyroot];
    const big = await w.salty(["apply", "-vv", "--sort", "big=1", ...k]);
    expect(big.code).toBe(0);
    expect(count(big.stdout, /^ {4}\| d1 line of output$/)).toBe(50_000);
    await w.master!.waitFor(
      /history\.unavailable backend=sqlite error="database or disk is full" spool=\S+history-spool retry_s=0\.3/,
    );
    const small = await w.salty(["apply", ...k]);
    expect(small.code).toBe(0);
    await w.master!.waitFor(/job\.end [^\n]*\n[\s\S]*job\.end /); // the master's log is read as it comes
    const [bigId, smallId] = [...w.master!.output.matchAll(/job\.end job=(\S+)/g)].map(
      (m) => m[1]!,
    ) as [string, string];
    const spool = join(w.keyroot, "history-spool");
    await untilTrue(
      "both jobs spooled",
      async () =>
        existsSync(join(spool, `${smallId}.json`)) && existsSync(join(spool, `${bigId}.json`)),
    );
    expect(count(w.master!.output, /history\.unavailable/)).toBe(1);
    // A spooled job can be shown before it reaches the database.
    const shown = await w.salty(["jobs", "show", bigId!, "-vv", ...k]);
    expect(shown.code).toBe(0);
    expect(shown.stdout.split("\n").slice(1).join("\n")).toBe(big.stdout);

    w.master!.kill("SIGTERM");
    await w.master!.proc.exited;
    await w.startMaster(["--auto-accept", "--history-max-mb", "64"]);
    await untilTrue("the spool is written at start", async () => readdirSync(spool).length === 0);
    expect((await jobsList(w)).map((j) => j.id).slice(0, 2)).toEqual([smallId, bigId]);
  }, 90_000);

  test("a master killed during an apply: at its next start the job is failed, saying why", async () => {
    const k = ["--keyroot", w.keyroot];
    const client = Bun.spawn([w.bin, "apply", "slow=30", ...k], {
      cwd: w.dir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const id = (
        await w.master!.waitFor(/job\.start job=(\S+) kind=apply target=\* who=\S+\n/)
      )[1]!;
      await untilTrue("the job is recorded as running", async () =>
        (await jobsList(w)).some((j) => j.id === id && j.status === "running"),
      );
      w.master!.kill("SIGKILL");
      await w.master!.proc.exited;
      await w.startMaster(["--auto-accept"]);
      await w.master!.waitFor(/history\.abandoned jobs=1/);
      const shown = await w.salty(["jobs", "show", id, ...k]);
      expect(shown.stdout).toMatch(new RegExp(`^job:${id} kind:apply status:failed `));
      expect(shown.stderr).toStartWith("error: the master stopped before the job ended\n");
    } finally {
      client.kill("SIGKILL");
    }
  }, 90_000);
});

const pgSkip = unavailable();
if (pgSkip) console.warn(`SKIPPED (postgres): ${pgSkip}`);

describe.skipIf(!!pgSkip)("PostgreSQL (--db) stopped and started again", () => {
  let w: World;
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
    w = await world({
      files,
      timing: JSON.stringify({
        pingIntervalMs: 300,
        peerTimeoutMs: 2000,
        backoffMinMs: 100,
        backoffMaxMs: 500,
        handshakeTimeoutMs: 2000,
        historyRetryMs: 300,
      }),
    });
    await w.startMaster(["--auto-accept", "--db", pg.url]);
    await Promise.all(["d1", "d2"].map((id) => w.startAgent(id)));
    await w.waitHosts(["d1", "d2"]);
  }, 60_000);
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
    await pg?.[Symbol.asyncDispose]();
  });

  test("applies go on while it is down, and their jobs are written when it is back", async () => {
    const k = ["--keyroot", w.keyroot];
    expect((await w.salty(["apply", "version=p1", ...k])).code).toBe(0);
    await untilTrue(
      "the first job is in PostgreSQL",
      async () => (await jobsList(w))[0]?.status === "ok",
    );
    expect(existsSync(join(w.keyroot, "history.db"))).toBe(false);

    await pg.stop();
    for (const v of ["p2", "p3"]) {
      const r = await w.salty(["apply", `version=${v}`, ...k]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
    }
    await w.master!.waitFor(/history\.unavailable backend=postgres error=/);
    const down = await w.salty(["jobs", ...k]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^salty: jobs\.list: the job history is unavailable \(.*\); jobs are kept in the keyroot's history-spool until it is back\n$/,
    );
    // `salty hosts` does not depend on the history.
    expect((await w.salty(["hosts", "--json", ...k])).code).toBe(0);

    await pg.start();
    await w.master!.waitFor(/history\.recovered backend=postgres written=\d+/, 20_000);
    await untilTrue("all three jobs listed", async () => (await jobsList(w)).length === 3);
    expect(count(w.master!.output, /history\.unavailable/)).toBe(1);
    expect(w.master!.output).not.toContain(pg.url);
    const hosts = JSON.parse((await w.salty(["hosts", "--json", ...k])).stdout);
    expect(hosts.d1.lastApply.version).toBe("p3");
  }, 90_000);
});
