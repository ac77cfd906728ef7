// Rollouts end to end (issue 19): the compiled binary as a master and six
// agents. batch= cuts the targeted hosts into batches run one after another,
// max_fail= is one failure budget for the whole rollout, gate= checks each
// host after its apply through the ad-hoc path, and `salty apply --resume`
// runs the hosts a stopped rollout never attempted, with its own arguments.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAST_TIMING, world, type World } from "./_harness.ts";

const IDS = ["a1", "a2", "a3", "a4", "a5", "a6"];

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { ${[...IDS, "ro"].map((id) => `${id}: { env: "lab", roles: ["app"] }`).join(", ")} } },
};
`,
  // fail= names the hosts where the role fails (one id or a list).
  "roles/app.ts": `export default async ({ id, file, shell, fail, version }) => {
  const bad = Array.isArray(fail) ? fail.includes(id) : fail === id;
  if (bad) await shell("echo broken on purpose >&2; exit 3");
  else await file("/etc/app.version", { content: String(version) + "\\n" });
};
`,
};

let w: World;
const k = () => ["--keyroot", w.keyroot];
const versionFile = (id: string) => join(w.sandbox(id), "etc/app.version");
const versionOf = (id: string) =>
  existsSync(versionFile(id)) ? readFileSync(versionFile(id), "utf8").trim() : undefined;

type Event = Record<string, unknown> & { type: string };
const events = (stdout: string): Event[] =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);

beforeAll(async () => {
  w = await world({
    files,
    timing: JSON.stringify({ ...JSON.parse(FAST_TIMING), gateRetryMs: 50 }),
  });
  await w.startMaster(["--auto-accept"]);
  for (const id of IDS) await w.startAgent(id);
  await w.startAgent("ro", ["--no-remote-exec"]);
  await w.waitHosts([...IDS, "ro"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

function clean(): void {
  for (const id of IDS) rmSync(versionFile(id), { force: true });
}

/** `salty jobs show ID` once the history holds the job ended (records are written in the background). */
async function jobShown(id: string): Promise<{ stdout: string; stderr: string }> {
  let last = { stdout: "", stderr: "" };
  for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(50)) {
    last = await w.salty(["jobs", "show", id, ...k()]);
    if (/^job:\S+ kind:apply status:(ok|failed) /.test(last.stdout)) return last;
  }
  throw new Error(`job ${id} not recorded as ended; last answer: ${last.stdout}${last.stderr}`);
}

test("a role failing on chosen hosts stops the rollout when the budget is spent: the running batch finishes, no new batch starts, the rest are never attempted; --resume finishes them", async () => {
  clean();
  const r = await w.salty([
    "apply",
    "--json-stream",
    "target=a*",
    "batch=1",
    "max_fail=2",
    "fail=a2,a3",
    "version=v1",
    ...k(),
  ]);
  expect(r.code).toBe(1);
  const ev = events(r.stdout);
  const job = String(ev[0]!.job);
  // Exactly three hosts ran: a1 (ok), a2 (failed, budget 1/2), a3 (failed, budget 2/2); then it stopped.
  expect(ev.filter((e) => e.type === "host_start").map((e) => e.host)).toEqual(["a1", "a2", "a3"]);
  expect(ev.filter((e) => e.type === "host_end").map((e) => [e.host, e.errors])).toEqual([
    ["a1", 0],
    ["a2", 1],
    ["a3", 1],
  ]);
  expect(ev.filter((e) => e.type === "batch_start").map((e) => [e.batch, e.of, e.hosts])).toEqual([
    [1, 6, ["a1"]],
    [2, 6, ["a2"]],
    [3, 6, ["a3"]],
  ]);
  const ends = ev.filter((e) => e.type === "batch_end");
  expect(ends.map((e) => [e.batch, e.failed, e.spent, e.budget])).toEqual([
    [1, [], 0, 2],
    [2, ["a2"], 1, 2],
    [3, ["a3"], 2, 2],
  ]);
  expect(ends[2]!.stopped).toMatch(/failure budget spent \(2\/2\)/);
  expect(ev.at(-1)).toMatchObject({
    type: "apply_end",
    rc: 1,
    hosts: 3,
    failed: 2,
    skipped: 1,
    rollout: {
      batches: 3,
      of: 6,
      failed: ["a2", "a3"],
      never_attempted: ["a4", "a5", "a6"],
      spent: 2,
      budget: 2,
    },
  });
  expect(IDS.map(versionOf)).toEqual(["v1", undefined, undefined, undefined, undefined, undefined]);

  // The history shows the batches, the failed hosts and those never attempted, and how to go on.
  const shown = await jobShown(job);
  expect(shown.stdout).toContain("rollout: 3/6 batches (1, 1, 1 hosts), 2 failed, budget 2/2");
  expect(shown.stderr).toContain(
    "rollout stopped: the failure budget is spent (2 of max_fail 2 hosts failed): 3 hosts never attempted",
  );
  expect(shown.stderr).toContain("  failed: a2, a3");
  expect(shown.stderr).toContain("  never attempted (3): a4, a5, a6");
  expect(shown.stderr).toContain(
    `resume: salty apply --resume ${job} (--retry-failed: its failed hosts too)`,
  );

  // --resume: the same arguments (fail=a2,a3 version=v1), on a4..a6 only.
  const resumed = await w.salty(["apply", "--resume", job, ...k()]);
  expect(resumed.stderr).not.toContain("never attempted");
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toContain(
    `rollout: 3/3 batches (1, 1, 1 hosts), 0 failed, budget 0/2 (resumes job ${job})`,
  );
  expect(resumed.stdout).toContain("skipped 4 hosts outside the target");
  expect(IDS.map(versionOf)).toEqual(["v1", undefined, undefined, "v1", "v1", "v1"]);
  // job.end is logged before the client gets its report: the last one is the resumed job's.
  const resumedId = [...w.master!.output.matchAll(/job\.end job=(\S+)/g)].at(-1)![1]!;

  // --retry-failed adds the failed hosts: a2 and a3 run again (and fail again, with the same fail=a2,a3), first, in inventory order.
  const retried = await w.salty([
    "apply",
    "--json-stream",
    "--resume",
    job,
    "--retry-failed",
    ...k(),
  ]);
  expect(retried.code).toBe(1);
  const rev = events(retried.stdout);
  expect(rev.filter((e) => e.type === "host_start").map((e) => e.host)).toEqual(["a2", "a3"]);
  expect(rev.at(-1)).toMatchObject({
    type: "apply_end",
    rollout: { of: 5, failed: ["a2", "a3"], never_attempted: ["a4", "a5", "a6"] },
  });

  // The resumed job left nothing: resuming it is a usage error.
  const none = await w.salty(["apply", "--resume", resumedId, ...k()]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain(`job ${resumedId} left no host unattempted`);
}, 60_000);

test("a canary failure leaves every other host untouched", async () => {
  clean();
  expect((await w.salty(["apply", "target=a*", "version=v0", ...k()])).code).toBe(0);
  const before = IDS.map((id) => ({
    text: readFileSync(versionFile(id), "utf8"),
    mtime: statSync(versionFile(id)).mtimeMs,
  }));
  const r = await w.salty(["apply", "target=a*", "batch=1,100%", "fail=a1", "version=v2", ...k()]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    "rollout stopped: the failure budget is spent (1 of max_fail 1 hosts failed): 5 hosts never attempted",
  );
  expect(r.stderr).toContain("never attempted (5): a2, a3, a4, a5, a6");
  expect(r.stdout + r.stderr).not.toMatch(/host:a[2-6]/);
  for (const [i, id] of IDS.entries()) {
    if (id === "a1") continue;
    expect({
      id,
      text: readFileSync(versionFile(id), "utf8"),
      mtime: statSync(versionFile(id)).mtimeMs,
    }).toEqual({ id, ...before[i]! });
  }
}, 60_000);

test("a failing gate fails its host and stops the rollout; a gate that passes on a retry lets it go on", async () => {
  clean();
  const sick = join(w.dir, "sick-a2");
  writeFileSync(sick, "");
  const gate = `test ! -e ${w.dir}/sick-$SALTY_HOST`;
  const r = await w.salty([
    "apply",
    "-v",
    "--json-stream",
    "target=a*",
    "batch=2",
    `gate=${gate}`,
    "gate_retries=1",
    "gate_timeout=5s",
    "version=v3",
    ...k(),
  ]);
  expect(r.code).toBe(1);
  const ev = events(r.stdout);
  expect(ev.filter((e) => e.type === "host_end").map((e) => [e.host, e.errors])).toEqual(
    expect.arrayContaining([
      ["a1", 0],
      ["a2", 1],
    ]),
  );
  expect(ev.filter((e) => e.type === "host_end")).toHaveLength(2);
  const gateA2 = ev.find((e) => e.type === "result" && e.host === "a2" && e.role === "(gate)");
  expect(gateA2?.result).toMatchObject({
    cmd: `gate(${gate})`,
    rc: 1,
    error: "gate failed: rc 1 after 2 attempts",
  });
  expect(ev.at(-1)).toMatchObject({
    type: "apply_end",
    rollout: { failed: ["a2"], never_attempted: ["a3", "a4", "a5", "a6"], budget: 1 },
  });
  // The apply ran on a2 (its file is written); the gate is what failed it.
  expect(IDS.map(versionOf)).toEqual(["v3", "v3", undefined, undefined, undefined, undefined]);
  rmSync(sick);

  // A gate that fails once and passes the second time: every host passes, each gate ran twice.
  const tries = (id: string) => join(w.dir, `tries-${id}`);
  const flaky = `echo x >> ${w.dir}/tries-$SALTY_HOST; [ $(wc -l < ${w.dir}/tries-$SALTY_HOST) -ge 2 ]`;
  const ok = await w.salty([
    "apply",
    "-v",
    "target=a*",
    "batch=50%",
    `gate=${flaky}`,
    "version=v4",
    ...k(),
  ]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("rollout: 2/2 batches (3, 3 hosts), 0 failed, budget 0/1");
  expect(ok.stdout).toMatch(
    /host:a1 [^\n]*\n  role:app [^\n]*\n  role:\(gate\) [^\n]*errors:0 changed:0/,
  );
  for (const id of IDS) expect(readFileSync(tries(id), "utf8")).toBe("x\nx\n");
  expect(IDS.map(versionOf)).toEqual(IDS.map(() => "v4"));
}, 60_000);

test("an agent with --no-remote-exec refuses the gate: the host fails at once, without retries; a dry run runs no gate", async () => {
  const r = await w.salty([
    "apply",
    "-vv",
    "target=ro",
    `gate=echo x >> ${w.dir}/ro-gate`,
    "gate_retries=3",
    "version=v5",
    ...k(),
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/role:\(gate\) [^\n]*errors:1/);
  expect(r.stderr).toContain("gate did not run: refused");
  expect(r.stderr).toContain("  failed: ro");
  expect(existsSync(join(w.dir, "ro-gate"))).toBe(false);
  expect(versionOf("ro")).toBe("v5");

  const dry = await w.salty([
    "apply",
    "--dry-run",
    "-v",
    "target=a1,a2",
    "batch=1",
    "gate=false",
    "version=v6",
    ...k(),
  ]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain("rollout: 2/2 batches (1, 1 hosts), 0 failed, budget 0/1");
  expect(dry.stdout).not.toContain("(gate)");
}, 60_000);

test("pause= waits between batches (never before the first nor after the last)", async () => {
  const r = await w.salty([
    "apply",
    "--json-stream",
    "target=a1,a2",
    "batch=1",
    "pause=1500ms",
    "version=v7",
    ...k(),
  ]);
  expect(r.code).toBe(0);
  const ev = events(r.stdout);
  expect(ev.filter((e) => e.type.startsWith("batch_")).map((e) => `${e.type} ${e.batch}`)).toEqual([
    "batch_start 1",
    "batch_end 1",
    "batch_start 2",
    "batch_end 2",
  ]);
  // A lower bound only: the sleep happened (one pause of 1.5 s, between the two batches).
  expect(Number(ev.at(-1)!.elapsed)).toBeGreaterThanOrEqual(1.5);
}, 60_000);

test("a rollout word misspelt is a usage error before anything runs; --retry-failed needs --resume, --resume takes no words", async () => {
  const typo = await w.salty(["apply", "btach=1", ...k()]);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain("did you mean batch=?");
  const bad = await w.salty(["apply", "max_fail=0", ...k()]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("max_fail=0: a number of hosts");
  const retry = await w.salty(["apply", "--retry-failed", ...k()]);
  expect(retry.code).toBe(2);
  expect(retry.stderr).toContain("--retry-failed goes with --resume JOB");
  const words = await w.salty(["apply", "--resume", "20261203-000000-0000", "version=2", ...k()]);
  expect(words.code).toBe(2);
  const missing = await w.salty(["apply", "--resume", "20261203-000000-0000", ...k()]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain("no job 20261203-000000-0000 in the history");
});
