// W1, one host with ten realistic roles: (a) first apply into an empty
// --path (a freshly started agent, caches flushed with `sync` first), (b)
// no-change re-apply, (c) re-apply after changing one copied file and one
// template variable; the floor for the same tree; the agent's memory.
// Bench-only.

import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { measure, settle, WARM, type CaseResult } from "./_measure.ts";
import { cpOnce, findFloor, pairedRatio, sync, walkFloor, type FloorResult } from "./_floor.ts";
import { Cluster, procStats, type ProcStats } from "./_procs.ts";
import type { Figure } from "./_stats.ts";
import { touchFile } from "./_trees.ts";
import { makeW1, setW1Keepalive } from "./_workloads.ts";
import { Ansible, type AnsibleRun } from "./_ansible.ts";
import { figure } from "./_stats.ts";

export interface BenchEnv {
  bin: string;
  floorBin: string;
  tmp: string;
  runs: number;
  quick: boolean;
  ansible: boolean;
  say(line: string): void;
}

export interface W1Result {
  a: CaseResult;
  b: CaseResult;
  c: CaseResult;
  /** Bytes of the two changed destinations of (c). */
  cBytes: number;
  /** cp: `cp -a` of files/ run just before each (a) run; aVsCp the median of the per-run ratios. */
  floor: { lstat: FloorResult; hash: FloorResult; find: Figure; cp: Figure; aVsCp: number };
  /** idle: 3 s after the last role (garbage collected, role worker kept); released: once the worker was stopped. */
  agent: { idle: ProcStats; released: ProcStats; afterRelease: Figure };
  master: ProcStats;
  ansible?: { a: Figure; b: Figure; bChanged: number; runs: number };
}

async function restartAgent(
  c: Cluster,
  id: string,
  opts: { wipe: boolean; timing?: Record<string, number> } = { wipe: true },
): Promise<void> {
  await c.stopAgent(id);
  for (let i = 0; i < 100 && c.connected().includes(id); i++) await Bun.sleep(50);
  if (opts.wipe) rmSync(c.sandbox(id), { recursive: true, force: true });
  c.startAgent(id, opts.timing);
  await c.waitHosts([id]);
}

/** How long the agent's role worker may idle in the release case (5 min by default). */
const RELEASE_MS = 1_500;

/**
 * The agent's memory when idle: 3 s after the last role (past timing.idleGcMs,
 * so garbage is collected), then after its role worker was released (an agent
 * restarted with workerIdleMs shortened to RELEASE_MS), and what a no-change
 * apply costs once it has been: a new worker, cold caches.
 */
async function agentIdle(env: BenchEnv, c: Cluster): Promise<W1Result["agent"]> {
  await Bun.sleep(3000);
  const idle = procStats(c.agents.get("w1")!.pid);
  await restartAgent(c, "w1", { wipe: false, timing: { workerIdleMs: RELEASE_MS } });
  c.apply();
  const walls: number[] = [];
  let released = idle;
  for (let i = 0; i < Math.max(3, Math.ceil(env.runs / 2)); i++) {
    await Bun.sleep(RELEASE_MS + 1000);
    released = procStats(c.agents.get("w1")!.pid);
    walls.push(c.apply().wall);
  }
  return { idle, released, afterRelease: figure(walls) };
}

export async function runW1(env: BenchEnv): Promise<W1Result> {
  const dir = join(env.tmp, "w1");
  env.say("W1: generating 10 roles and a 2,000-file / 50 MB tree");
  const w = makeW1(dir);
  const c = new Cluster(env.bin, dir, w.fileroot);
  await c.startMaster();
  c.startAgent("w1");
  await c.waitHosts(["w1"]);
  const base = {
    runs: env.runs,
    master: () => c.master!.pid,
    agents: () => [c.agents.get("w1")!.pid],
    run: () => c.apply(),
  };

  env.say(
    "W1 (a): first apply into an empty --path, fresh agent each run, each after a cp -a of the same files",
  );
  const cps: number[] = [];
  const a = await measure({
    ...base,
    prepare: async () => {
      await restartAgent(c, "w1");
      cps.push(cpOnce(join(w.fileroot, "files"), join(dir, "cp-a")));
    },
  });
  const cp = cps.slice(cps.length - env.runs);
  env.say("W1 (b): no-change re-apply");
  await settle();
  const b = await measure({ ...base, warmup: WARM });
  env.say("W1 (c): one copied file and one template variable changed");
  const copied = join(w.fileroot, "files/nginx/c0.txt");
  const size = statSync(copied).size;
  const cc = await measure({
    ...base,
    prepare: (i) => (touchFile(copied, size, i), setW1Keepalive(w, 101 + i)),
  });
  const sandbox = c.sandbox("w1");
  const cBytes = size + statSync(join(sandbox, "srv/nginx/t0.conf")).size;
  const master = procStats(c.master!.pid);
  env.say(
    "W1 agent memory: idle with its role worker, then released (workerIdleMs shortened), and a no-change apply after that",
  );
  const agent = await agentIdle(env, c);

  env.say("W1 floor: lstat and hash every destination entry, find, cp -a");
  const floor = {
    lstat: walkFloor(env.floorBin, sandbox, false, env.runs),
    hash: walkFloor(env.floorBin, sandbox, true, env.runs),
    find: findFloor(sandbox, env.runs),
    cp: figure(cp),
    aVsCp: pairedRatio(a.samples, cp),
  };
  const result: W1Result = { a, b, c: cc, cBytes, floor, agent, master };
  if (env.ansible) result.ansible = ansibleW1(env, w);
  return result;
}

function ansibleW1(env: BenchEnv, w: ReturnType<typeof makeW1>): W1Result["ansible"] {
  const runs = env.quick ? 1 : 3;
  env.say(`W1 Ansible: first apply (1 run) and no-change (${runs} runs); this takes minutes`);
  const ans = new Ansible(w, ["w1"], 5);
  ans.wipe();
  sync();
  const first = ans.run();
  const again: AnsibleRun[] = [];
  for (let i = 0; i < runs; i++) again.push(ans.run());
  return {
    a: figure([first.wall]),
    b: figure(again.map((r) => r.wall)),
    bChanged: Math.max(...again.map((r) => r.changed)),
    runs,
  };
}
