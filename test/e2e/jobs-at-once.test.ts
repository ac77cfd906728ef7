// The job history is written in the background (batched, historyFlushMs after
// the first record waiting), yet what a client reads of it never lags behind
// what the master has answered: `salty jobs` and `salty hosts` right after an
// apply show that apply. Here the batch waits 5 s, far longer than the test.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { FAST_TIMING, world, type World } from "./_harness.ts";

let w: World;

beforeAll(async () => {
  w = await world({
    files: {
      "hosts/index.ts": `export default { envs: { lab: {} }, hosts: { lab: { a1: { env: "lab", roles: ["base"] } } } };\n`,
      "roles/base.ts": `export default async ({ print }) => { print("hello"); };\n`,
    },
    timing: JSON.stringify({ ...JSON.parse(FAST_TIMING), historyFlushMs: 5000 }),
  });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

const k = () => ["--keyroot", w.keyroot];

test("salty jobs and salty hosts right after an apply show that apply", async () => {
  const ids: string[] = [];
  for (const n of [1, 2]) {
    const r = await w.salty(["apply", ...k()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const jobs = await w.salty(["jobs", "--json", ...k()]);
    expect(jobs.code, jobs.stderr).toBe(0);
    const list = JSON.parse(jobs.stdout) as Array<{ id: string; status: string; kind: string }>;
    expect(list.length).toBe(n);
    expect(list[0]).toMatchObject({ kind: "apply", status: "ok" });
    ids.push(list[0]!.id);
  }
  expect(ids[1]! > ids[0]!).toBe(true);
  const hosts = JSON.parse((await w.salty(["hosts", "--json", ...k()])).stdout) as Record<
    string,
    { lastApply?: { job?: string; status?: string } }
  >;
  expect(hosts.a1?.lastApply).toMatchObject({ job: ids[1], status: "ok" });
});
