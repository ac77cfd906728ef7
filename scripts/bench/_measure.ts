// Repeating one benchmark case: a warm-up, then measured runs, each prepared
// first (untimed), with the CPU the master and the agent spent on it read from
// /proc around the run. Bench-only.

import { figure, type Figure } from "./_stats.ts";
import { procStats, type ApplyRun } from "./_procs.ts";

export interface CaseResult {
  /** The whole `salty apply` command. */
  wall: Figure;
  /** The apply's own `elapsed` (--json). */
  elapsed: Figure;
  /** CPU seconds per apply: the client command, the master, one agent (or all agents summed). */
  clientCpu: Figure;
  masterCpu: Figure;
  agentCpu: Figure;
  ops: number;
  changed: number[];
  /** The whole-command seconds of each measured run, in order. */
  samples: number[];
  /** The whole-command seconds of the first (warm-up) run: a process whose code is not warm yet. */
  first: number;
}

export interface CaseSpec {
  runs: number;
  warmup?: number;
  prepare?(run: number): void | Promise<void>;
  run(): ApplyRun;
  master(): number;
  /** Agent pids whose CPU is summed (read before and after each run). */
  agents(): number[];
}

function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += procStats(pid).cpu;
    } catch {
      /* a process that went away counts for nothing */
    }
  }
  return sum;
}

/** Warm-up runs of no-change cases: agents run for weeks, their code is warm (the first run is reported too). */
export const WARM = 5;

/**
 * The agent trusts a cached hash only for files unchanged for timing.statRacyMs
 * (2 s; a file written in the same instant as its hash was taken may change
 * unseen): a no-change apply right after a write re-reads what was written.
 * No-change cases start after this pause, as they do in real use.
 */
export const settle = () => Bun.sleep(2_500);

export async function measure(spec: CaseSpec): Promise<CaseResult> {
  const warmup = spec.warmup ?? 1;
  const wall: number[] = [],
    elapsed: number[] = [],
    client: number[] = [],
    master: number[] = [],
    agent: number[] = [],
    changed: number[] = [];
  let ops = 0;
  let first = NaN;
  for (let i = 0; i < warmup + spec.runs; i++) {
    await spec.prepare?.(i);
    const pids = spec.agents();
    const m0 = cpuOf([spec.master()]),
      a0 = cpuOf(pids);
    const r = spec.run();
    const m1 = cpuOf([spec.master()]),
      a1 = cpuOf(pids);
    ops = r.ops;
    if (i === 0) first = r.wall;
    if (i < warmup) continue;
    wall.push(r.wall);
    elapsed.push(r.elapsed);
    client.push(r.cpu);
    master.push(m1 - m0);
    agent.push(a1 - a0);
    changed.push(r.changed);
  }
  return {
    wall: figure(wall),
    elapsed: figure(elapsed),
    clientCpu: figure(client),
    masterCpu: figure(master),
    agentCpu: figure(agent),
    ops,
    changed,
    samples: wall,
    first,
  };
}
