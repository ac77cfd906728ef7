// CPU time of the master per W2 no-change apply, on a loaded machine where
// wall clocks mislead: W2's fileroot, AGENTS agents grouped 20 to a process
// through the real agent code (agents.ts), one first apply, three warm ones,
// then N no-change applies; the master's CPU per apply (every thread, and its
// main thread alone) from /proc/PID/task/TID/schedstat, and the whole
// command's median wall time. `bun scripts/bench/cpu-w2.ts BIN [AGENTS] [N]`;
// BIN a compiled salty. Bench-only.

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Cluster, daemon, stopAll, processSeconds } from "./_procs.ts";
import { makeW2 } from "./_workloads.ts";

const [bin, agentsArg, nArg] = process.argv.slice(2);
if (!bin) throw new Error("usage: bun scripts/bench/cpu-w2.ts BIN [AGENTS] [N]");
const agents = Number(agentsArg ?? 200);
const n = Number(nArg ?? 10);
const GROUP = 20;
const dir = mkdtempSync(join(tmpdir(), "cpu-w2-"));
const w = makeW2(dir);
const c = new Cluster(bin, dir, w.fileroot);
const id = (i: number) => `w2-${String(i).padStart(3, "0")}`;

/** Milliseconds on the CPU of the process's threads (all, or the main one). */
const cpu = (pid: number, main = false) => processSeconds(pid, main) * 1000;

try {
  await c.startMaster();
  const ids = Array.from({ length: agents }, (_, i) => id(i));
  const env = {
    ...process.env,
    SALTY_TIMING: JSON.stringify({ backoffMinMs: 100, backoffMaxMs: 500 }),
  };
  for (let i = 0; i < agents; i += GROUP) {
    const group = ids.slice(i, i + GROUP);
    const script = resolve(import.meta.dir, "agents.ts");
    const log = join(dir, "logs", `group-${group[0]}.log`);
    daemon([process.execPath, script, `127.0.0.1:${c.port}`, dir, ...group], log, env);
  }
  await c.waitHosts(ids);
  c.apply();
  await Bun.sleep(2500); // past the agents' racy-stat window
  for (let i = 0; i < 3; i++) c.apply();
  const pid = c.master!.pid;
  const [all0, main0] = [cpu(pid), cpu(pid, true)];
  const walls: number[] = [];
  for (let i = 0; i < n; i++) walls.push(c.apply().wall * 1000);
  const per = (ms: number) => (ms / n).toFixed(1);
  walls.sort((a, b) => a - b);
  console.log(
    `W2 ${agents} agents, per no-change apply (n=${n}): master ${per(cpu(pid) - all0)} ms (main thread ${per(cpu(pid, true) - main0)}); whole command median ${walls[n >> 1]!.toFixed(0)} ms; load ${loadavg()[0]!.toFixed(1)}`,
  );
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
