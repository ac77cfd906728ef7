// CPU time of W1 (b), the no-change apply, on a loaded machine where wall
// clocks mislead: N applies, then the user+system seconds of the client
// (resourceUsage), the master and the agent (/proc/PID/stat, every thread)
// per apply. `bun scripts/bench/cpu-w1.ts BIN [N] [TMP]`; BIN a compiled salty
// (scripts/bench builds one as bench/salty). Bench-only.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, stopAll, timed, threadSeconds } from "./_procs.ts";
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
    console.log(
      `holding: ${bin} apply --json --keyroot ${c.keyroot}; master ${c.master!.pid}, agent ${c.agents.get("w1")!.pid}`,
    );
    await new Promise((r) => process.once("SIGTERM", r));
    throw new Error("stopped");
  }
  const threads = (pid: number) => {
    const out = new Map<string, number>();
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
        out.set(`${name}#${t}`, threadSeconds(pid, t));
      } catch {} // a thread that ended
    }
    return out;
  };
  const t0 = { master: threads(c.master!.pid), agent: threads(c.agents.get("w1")!.pid) };
  let client = 0;
  const els: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = c.apply();
    client += r.cpu;
    els.push(r.elapsed);
  }
  const t1 = { master: threads(c.master!.pid), agent: threads(c.agents.get("w1")!.pid) };
  const sum = (m: Map<string, number>, base: Map<string, number>) =>
    [...m].reduce((s, [k, v]) => s + v - (base.get(k) ?? 0), 0);
  const precise = {
    master: sum(t1.master, t0.master),
    agent: sum(t1.agent, t0.agent),
    worker: sum(new Map([...t1.agent].filter(([k]) => k.startsWith("Worker"))), t0.agent),
  };
  if (process.env.THREADS) {
    for (const who of ["master", "agent"] as const) {
      const rows = [...t1[who]]
        .map(([k, v]) => [k, v - (t0[who].get(k) ?? 0)] as const)
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1]);
      console.log(who, rows.map(([k, v]) => `${k} ${((v / n) * 1000).toFixed(2)}`).join(", "));
    }
  }
  // schedstat (ns) of every thread alive at the end; /proc/PID/stat's ticks as a check.
  const master = precise.master;
  const agent = precise.agent;
  let version = 0;
  for (let i = 0; i < n; i++) version += timed([bin, "version"]).cpu;
  const ms = (s: number) => ((s / n) * 1000).toFixed(2);
  els.sort((a, b) => a - b);
  console.log(
    `per apply (n=${n}): client ${ms(client)} ms (version ${ms(version)}), master ${ms(master)} ms, agent ${ms(agent)} ms (its role worker ${ms(precise.worker)}), total ${ms(client + master + agent)} ms; elapsed median ${((els[n >> 1] ?? NaN) * 1000).toFixed(1)} ms; load ${loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
