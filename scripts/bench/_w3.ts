// W3, bulk: one syncdir of 1 GB in 10,000 files (100 MB in 1,000 with
// --quick): first transfer into an empty --path (after `sync`), no-change
// re-check, one changed file; `cp -a` of the same tree as the floor.
// Bench-only.

import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { measure, settle, WARM, type CaseResult } from "./_measure.ts";
import { cpOnce, pairedRatio } from "./_floor.ts";
import { Cluster, procStats, type ProcStats } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import { touchFile, type TreeSpec } from "./_trees.ts";
import { makeW3 } from "./_workloads.ts";
import type { BenchEnv } from "./_w1.ts";

export interface W3Result {
  files: number;
  bytes: number;
  first: CaseResult;
  noChange: CaseResult;
  changed: CaseResult;
  changedBytes: number;
  /** `cp -a` of the tree just before each first-transfer run; firstVsCp the median of the per-run ratios. */
  cp: Figure;
  firstVsCp: number;
  agent: ProcStats;
  master: ProcStats;
}

export async function runW3(env: BenchEnv, spec: TreeSpec): Promise<W3Result> {
  const dir = join(env.tmp, "w3");
  env.say(`W3: generating ${spec.files} files / ${spec.bytes / 1e6} MB`);
  const w = makeW3(dir, spec);
  const c = new Cluster(env.bin, dir, w.fileroot);
  await c.startMaster();
  c.startAgent("w3");
  await c.waitHosts(["w3"]);
  const sandbox = c.sandbox("w3");
  const base = {
    runs: env.runs,
    master: () => c.master!.pid,
    agents: () => [c.agents.get("w3")!.pid],
    run: () => c.apply(),
  };
  env.say(
    "W3: first transfer, each after a cp -a of the same tree (page cache flushed before each)",
  );
  const cps: number[] = [];
  const first = await measure({
    ...base,
    prepare: () => {
      rmSync(sandbox, { recursive: true, force: true });
      mkdirSync(sandbox, { recursive: true });
      cps.push(cpOnce(join(w.fileroot, "files/bulk"), join(dir, "cp-a")));
    },
  });
  const cp = cps.slice(cps.length - env.runs);
  env.say("W3: no-change re-check, one changed file");
  await settle();
  const noChange = await measure({ ...base, warmup: WARM });
  // A mid-sized file: not one of the few big ones at the end.
  const one = join(w.fileroot, "files/bulk", w.files[Math.floor(w.files.length / 2)]!);
  const changedBytes = statSync(one).size;
  const changed = await measure({ ...base, prepare: (i) => touchFile(one, changedBytes, i) });
  const agent = procStats(c.agents.get("w3")!.pid);
  const master = procStats(c.master!.pid);
  rmSync(sandbox, { recursive: true, force: true });
  return {
    files: spec.files,
    bytes: spec.bytes,
    first,
    noChange,
    changed,
    changedBytes,
    cp: figure(cp),
    firstVsCp: pairedRatio(first.samples, cp),
    agent,
    master,
  };
}
