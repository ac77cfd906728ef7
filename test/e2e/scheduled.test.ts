// Periodic applies end to end (issue 21): the compiled binary as a master and
// agents with --apply-every (short periods); each run is a `scheduled` job of
// the agent's own host in the master's history, failures show in `salty jobs
// --failed`, --only-if-changed skips unchanged inputs and runs again when a
// file changes, an agent that misses two periods is `late` in `salty hosts`.
// Untrusted agents (a rogue one on the wire): asking too often is refused, a
// pull report naming another host is refused, its own is recorded.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAST_TIMING, world, type World } from "./_harness.ts";
import { rogueAgent } from "../reliability/_tools.ts";
import { gatherFacts } from "../../lib/facts/gather.ts";
import type { JobSummary } from "../../lib/history/types.ts";
import type { HostEntry } from "../../lib/wire/api.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: {
    a1: { env: "lab", roles: ["base"] },
    a2: { env: "lab", roles: ["base"] },
    a3: { env: "lab", roles: ["base"] },
    a4: { env: "lab", roles: ["base"], vars: { slow: 4 } },
    a5: { env: "lab", roles: ["base"], vars: { broken: true } },
    rogue: { env: "lab", roles: ["tagonly"], tags: ["tagonly"] },
  } },
};
`,
  "roles/base.ts": `export default async ({ me, copy, shell }) => {
  await copy("base/motd", "/etc/motd");
  if (me.vars.slow) await shell("sleep " + me.vars.slow);
  if (me.vars.broken) await shell("echo broken on purpose >&2; exit 3");
};
`,
  "files/base/motd": "one\n",
};

let w: World;
const k = () => ["--keyroot", w.keyroot];

beforeAll(async () => {
  w = await world({
    files,
    timing: JSON.stringify({ ...JSON.parse(FAST_TIMING), scheduledMinGapMs: 900 }),
  });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1", ["--apply-every", "2s", "--splay", "1s"]);
  await w.startAgent("a2");
  await w.startAgent("a3", ["--apply-every", "1s", "--only-if-changed"]);
  await w.startAgent("a4", ["--apply-every", "1s", "--splay", "0s"]);
  await w.startAgent("a5", ["--apply-every", "1500ms"]);
  await w.waitHosts(["a1", "a2", "a3", "a4", "a5"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

async function jobs(...filter: string[]): Promise<Array<JobSummary & { target: string }>> {
  const r = await w.salty(["jobs", "--json", "--limit", "1000", ...filter, ...k()]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await Bun.sleep(200);
  }
  throw new Error(`not within ${ms} ms: ${what}\nmaster said:\n${w.master?.output}`);
}

async function hosts(): Promise<Record<string, HostEntry>> {
  const r = await w.salty(["hosts", "--json", ...k()]);
  return JSON.parse(r.stdout);
}

test("an agent with --apply-every applies its own host on its schedule, each run a scheduled job", async () => {
  const mine = await until("two scheduled jobs of a1", async () => {
    const js = (await jobs("--kind", "scheduled", "--host", "a1")).filter(
      (j) => j.status !== "running",
    );
    return js.length >= 2 ? js : undefined;
  });
  for (const j of mine) {
    expect(j).toMatchObject({
      kind: "scheduled",
      who: "agent:a1",
      target: "a1",
      hosts: 1,
      status: "ok",
    });
  }
  // Its slots are a period apart (the grid of the period, at its fixed offset).
  const gap = mine[0]!.started - mine[1]!.started;
  expect(gap).toBeGreaterThan(1500);
  expect(existsSync(join(w.sandbox("a1"), "etc/motd"))).toBe(true);
  // a2 has no schedule: never applied, never in a scheduled job.
  expect(existsSync(join(w.sandbox("a2"), "etc/motd"))).toBe(false);
  expect((await jobs("--kind", "scheduled", "--host", "a2")).length).toBe(0);
  const h = await hosts();
  expect(h.a1!.scheduled).toMatchObject({ everyMs: 2000, late: false });
  expect(h.a2!.scheduled).toBeUndefined();
  expect(h.a1!.lastApply).toMatchObject({ status: "ok" });
});

test("a failing scheduled run shows in salty jobs --failed", async () => {
  const failed = await until("a failed scheduled job of a5", async () => {
    const js = await jobs("--failed", "--kind", "scheduled");
    return js.find((j) => j.target === "a5");
  });
  expect(failed).toMatchObject({ who: "agent:a5", status: "failed", failed: 1 });
  const shown = await w.salty(["jobs", "show", failed.id, ...k()]);
  expect(shown.stdout + shown.stderr).toContain("broken on purpose");
  expect((await jobs("--failed", "--kind", "scheduled")).every((j) => j.target === "a5")).toBe(
    true,
  );
});

test("--only-if-changed skips unchanged inputs and runs again when a file changes", async () => {
  const a3 = w.agents.get("a3")!;
  await a3.waitFor(/agent\.scheduled_unchanged[^\n]*\n[\s\S]*agent\.scheduled_unchanged/);
  const before = await jobs("--kind", "scheduled", "--host", "a3");
  // The skips made no job: a3's jobs are at most the runs it logged.
  expect(before.length).toBeGreaterThanOrEqual(1);
  expect(before.length).toBeLessThanOrEqual(a3.output.match(/agent\.scheduled job=/g)?.length ?? 0);
  writeFileSync(join(w.fileroot, "files/base/motd"), "two\n");
  await until("a new a3 job after the change", async () =>
    (await jobs("--kind", "scheduled", "--host", "a3")).length > before.length ? true : undefined,
  );
  await until("motd updated on a3", async () =>
    (await Bun.file(join(w.sandbox("a3"), "etc/motd")).text()) === "two\n" ? true : undefined,
  );
});

test("an agent that has not asked for two periods is late in salty hosts", async () => {
  // a4's role sleeps 4 s and its period is 1 s: it does not ask while its run lasts.
  await until("a4 late", async () => ((await hosts()).a4?.scheduled?.late ? true : undefined));
  const table = await until("a4 LATE in the table", async () => {
    const r = await w.salty(["hosts", ...k()]);
    return /^a4 .* LATE$/m.test(r.stdout) ? r.stdout : undefined;
  });
  expect(table).not.toMatch(/^a1 .* LATE$/m);
  await until("a4 on time again", async () =>
    (await hosts()).a4?.scheduled?.late === false ? true : undefined,
  );
});

test("a rogue agent asking too often is refused; its pull report for another host is refused, its own recorded", async () => {
  const rogue = await rogueAgent(w.port, w.keyroot, "rogue", async (req) => ({
    role: req.role,
    elapsed: 0,
    results: [],
  }));
  try {
    await rogue.rpc.call("agent.hello", { facts: await gatherFacts(), version: "0.0.0" });
    const first = await rogue.rpc.call("agent.applyMe", {});
    expect(first.status).toBe("ran");
    const again = await rogue.rpc.call("agent.applyMe", {}).then(
      () => "accepted",
      (e: Error) => e.message,
    );
    expect(again).toMatch(
      /^agent\.applyMe: scheduled apply refused: the last one was \d+\.\ds ago \(at most one per 0\.9s\)$/,
    );
    await w.master!.waitFor(/scheduled\.refused id=rogue/);
    const commit = "a".repeat(40);
    const other = {
      hosts: [{ id: "a1", status: "ran", elapsed: 0, errors: 0, changed: 0, roles: [] }],
      elapsed: 0,
      rc: 0,
    };
    const refused = await rogue.rpc
      .call("agent.report", { commit, repo: "r", branch: "main", report: other as never })
      .then(
        () => "accepted",
        (e: Error) => e.message,
      );
    expect(refused).toBe(
      `agent.report: a pull report is recorded for the reporting host (rogue) alone; this one names "a1"`,
    );
    const own = {
      hosts: [
        {
          id: "rogue",
          status: "ran",
          elapsed: 0.5,
          errors: 0,
          changed: 0,
          roles: [
            {
              role: "x",
              elapsed: 0.1,
              skipped: false,
              errors: 0,
              changed: 0,
              results: [{ cmd: "shell(false)", rc: 1, changed: false, elapsed: 0 }],
            },
          ],
        },
      ],
      elapsed: 0.5,
      rc: 0,
    };
    const { job } = await rogue.rpc.call("agent.report", {
      commit,
      repo: "r",
      branch: "main",
      report: own as never,
    });
    const recorded = await until("the pull job", async () =>
      (await jobs("--kind", "pull")).find((j) => j.id === job && j.status !== "running"),
    );
    // Its counts are recounted from its results: the failed command makes it a failed job.
    expect(recorded).toMatchObject({
      who: "agent:rogue",
      target: "rogue",
      version: commit,
      status: "failed",
      failed: 1,
    });
    const tooSoon = await rogue.rpc
      .call("agent.report", { commit, repo: "r", branch: "main", report: own as never })
      .then(
        () => "accepted",
        (e: Error) => e.message,
      );
    expect(tooSoon).toMatch(/^agent\.report: pull report refused: the last one from rogue was/);
  } finally {
    rogue.rpc.close();
  }
});
