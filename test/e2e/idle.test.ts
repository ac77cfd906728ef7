// An idle agent gives memory back: after timing.workerIdleMs without a role
// its role worker (a thread, with its heap and caches) is stopped, and the
// next apply starts a new one and finds everything in place.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FAST_TIMING, world, type World } from "./_harness.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { idle1: { env: "lab", roles: ["base"] } } } };\n`,
  "roles/base.ts": `export default async ({ copy, syncdir }) => {
  await copy("base/motd", "/etc/motd");
  await syncdir("files/base/tree", "/srv/tree");
};\n`,
  "files/base/motd": "managed by salty\n",
  "files/base/tree/a.txt": "a\n",
  "files/base/tree/sub/b.txt": "b\n",
};

let w: World;
const timing = JSON.stringify({ ...JSON.parse(FAST_TIMING), idleGcMs: 100, workerIdleMs: 800 });

beforeAll(async () => {
  w = await world({ files, timing });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("idle1");
  await w.waitHosts(["idle1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

test("the role worker is stopped after workerIdleMs without a role; the next apply starts another and changes nothing", async () => {
  const agent = w.agents.get("idle1")!;
  const first = await w.salty(["apply", "--keyroot", w.keyroot, "-v"]);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^host:idle1 .*changed:2/m);
  await Bun.sleep(300);
  expect(agent.output).not.toContain("agent.worker_released"); // not before its time
  await agent.waitFor(/agent\.worker_released idleMs=800/, 10_000);
  const again = await w.salty(["apply", "--keyroot", w.keyroot, "-v"]);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/^host:idle1 .*changed:0/m);
  expect(readFileSync(join(w.sandbox("idle1"), "srv/tree/sub/b.txt"), "utf8")).toBe("b\n");
  // Released once per idle period: the second apply's worker is released too.
  await agent.waitFor(/agent\.worker_released[\s\S]*agent\.worker_released/, 10_000);
});
