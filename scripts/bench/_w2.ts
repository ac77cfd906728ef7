// W2, fan-out: one small role (5 copy, 2 render, 2 makedirs) on 10, 50 and
// 200 agents, each its own process and --path (grouped 20 to a process
// through the real agent code when memory is short: the report says which);
// first apply and no-change apply across all; the master's memory.
// Bench-only.

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { measure, settle, WARM, type CaseResult } from "./_measure.ts";
import { sync } from "./_floor.ts";
import { Cluster, daemon, procStats, type ProcStats } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import { makeW2 } from "./_workloads.ts";
import { Ansible } from "./_ansible.ts";
import type { BenchEnv } from "./_w1.ts";

export interface W2Size {
  agents: number;
  first: CaseResult;
  noChange: CaseResult;
  master: ProcStats;
  agent: ProcStats;
}

export interface W2Result {
  mode: "processes" | "grouped";
  sizes: W2Size[];
  ansible?: { hosts: number; a: Figure; b: Figure };
}

const GROUP = 20;
const id = (i: number) => `w2-${String(i).padStart(3, "0")}`;

function memAvailableMb(): number {
  const m = /^MemAvailable:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

export async function runW2(env: BenchEnv, sizes: number[]): Promise<W2Result> {
  const dir = join(env.tmp, "w2");
  const w = makeW2(dir);
  const c = new Cluster(env.bin, dir, w.fileroot);
  await c.startMaster();
  const max = Math.max(...sizes);
  const mode = memAvailableMb() > max * 80 + 2048 ? "processes" : "grouped";
  env.say(
    `W2: up to ${max} agents as ${mode === "processes" ? "one process each" : `groups of ${GROUP} per process`}`,
  );
  const groups: number[] = [];
  let started = 0;
  const out: W2Result = { mode, sizes: [] };
  for (const n of sizes) {
    const ids = Array.from({ length: n }, (_, i) => id(i));
    for (; started < n; started += mode === "processes" ? 1 : GROUP) {
      if (mode === "processes") c.startAgent(id(started));
      else groups.push(startGroup(c, dir, ids.slice(started, started + GROUP)));
      if ((started + 1) % GROUP === 0) await c.waitHosts(ids.slice(0, started + 1));
    }
    await c.waitHosts(ids);
    const pids = () => (mode === "processes" ? ids.map((i) => c.agents.get(i)!.pid) : groups);
    const wipe = () => {
      for (const i of ids)
        rmSync(c.sandbox(i), { recursive: true, force: true }),
          mkdirSync(c.sandbox(i), { recursive: true });
      sync();
    };
    const base = {
      runs: env.runs,
      master: () => c.master!.pid,
      agents: pids,
      run: () => c.apply(),
    };
    env.say(`W2 ${n} agents: first apply, then no-change`);
    const first = await measure({ ...base, prepare: wipe });
    await settle();
    const noChange = await measure({ ...base, warmup: WARM });
    out.sizes.push({
      agents: n,
      first,
      noChange,
      master: procStats(c.master!.pid),
      agent: procStats(pids()[0]!),
    });
  }
  if (env.ansible) out.ansible = ansibleW2(env, w, sizes[0]!);
  return out;
}

function startGroup(c: Cluster, dir: string, ids: string[]): number {
  const script = resolve(import.meta.dir, "agents.ts");
  const env = {
    ...process.env,
    SALTY_TIMING: JSON.stringify({ backoffMinMs: 100, backoffMaxMs: 500 }),
  };
  return daemon(
    [process.execPath, script, `127.0.0.1:${c.port}`, dir, ...ids],
    join(dir, "logs", `group-${ids[0]}.log`),
    env,
  ).pid;
}

function ansibleW2(
  env: BenchEnv,
  w: ReturnType<typeof makeW2>,
  hosts: number,
): W2Result["ansible"] {
  env.say(`W2 Ansible: ${hosts} hosts, first apply and no-change (1 run each)`);
  const ans = new Ansible(
    w,
    Array.from({ length: hosts }, (_, i) => id(i)),
    hosts,
  );
  ans.wipe();
  const a = ans.run();
  const b = ans.run();
  return { hosts, a: figure([a.wall]), b: figure([b.wall]) };
}
