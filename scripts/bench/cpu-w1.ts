// CPU time of W1 (b), the no-change apply, on a loaded machine where wall
// clocks mislead: N applies, then the user+system seconds of the client
// (resourceUsage), the master and the agent (/proc/PID/stat, every thread)
// per apply. `bun scripts/bench/cpu-w1.ts BIN [N] [TMP]`; BIN a compiled salty
// (scripts/bench builds one as bench/salty). Bench-only.

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, procStats, stopAll, timed } from "./_procs.ts";
import { makeW1 } from "./_workloads.ts";

const [bin, nArg, tmpArg] = process.argv.slice(2);
if (!bin) throw new Error("usage: bun scripts/bench/cpu-w1.ts BIN [N] [TMP]");
const n = Number(nArg ?? 40);
const dir = mkdtempSync(join(tmpArg ?? tmpdir(), "cpu-w1-"));
const w = makeW1(join(dir, "w1"));
const c = new Cluster(bin, join(dir, "w1"), w.fileroot);
try {
  await c.startMaster();
  c.startAgent("w1");
  await c.waitHosts(["w1"]);
  c.apply();
  await Bun.sleep(2500);
  for (let i = 0; i < 5; i++) c.apply();
  if (process.env.HOLD) {
    // Keep the cluster up for profiling by hand until this process gets SIGTERM.
    console.log(`holding: ${bin} apply --json --keyroot ${c.keyroot}; master ${c.master!.pid}, agent ${c.agents.get("w1")!.pid}`);
    await new Promise((r) => process.once("SIGTERM", r));
    throw new Error("stopped");
  }
  const m0 = procStats(c.master!.pid).cpu;
  const a0 = procStats(c.agents.get("w1")!.pid).cpu;
  let client = 0;
  let elapsed = 0;
  const els: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = c.apply();
    client += r.cpu;
    elapsed += r.elapsed;
    els.push(r.elapsed);
  }
  const master = procStats(c.master!.pid).cpu - m0;
  const agent = procStats(c.agents.get("w1")!.pid).cpu - a0;
  let version = 0;
  for (let i = 0; i < n; i++) version += timed([bin, "version"]).cpu;
  const ms = (s: number) => ((s / n) * 1000).toFixed(2);
  els.sort((a, b) => a - b);
  console.log(
    `per apply (n=${n}): client ${ms(client)} ms (version ${ms(version)}), master ${ms(master)} ms, agent ${ms(agent)} ms, total ${ms(client + master + agent)} ms; elapsed median ${((els[n >> 1] ?? NaN) * 1000).toFixed(1)} ms; load ${loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
