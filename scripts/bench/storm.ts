// The reconnect storm of W4 alone, for working on it: N simulated agents
// (scripts/bench/agents.ts, W4_PER_PROCESS a process, W4_PER_SOURCE an
// address) connect to a master, stay 31 s (their backoff resets), then the
// master restarts and the time until every agent is back is measured, with a
// timeline (agents back per second), the master's and the agents' CPU, and
// why attempts failed (from the agents' logs). Usage:
//   bun scripts/bench/storm.ts BIN N [--per-process K] [--dir DIR] [--prof DIR]
// --prof runs the restarted master from source under `bun --cpu-prof` (profile in DIR);
// --agents-prof the agents' processes (one profile each, written when they stop), and prints
// the seconds after their start between which the storm ran (to cut the profiles).
// Every process it starts is stopped by PID. Dev tool, not part of `npm run bench`.

import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { procStats, stop, stopAll, waitForLog } from "./_procs.ts";
import {
  W4_PER_PROCESS,
  freePort,
  w4Fleet,
  startGroups,
  startMaster,
  waitConnected,
} from "./_w4.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "per-process": { type: "string" },
    dir: { type: "string", default: "/tmp/salty-storm" },
    prof: { type: "string" },
    "agents-prof": { type: "string" },
    /** A,B: process s runs checkout [A, B][s % 2]'s agents (each process's CPU printed apart), as w4-apply.ts. */
    "agents-from": { type: "string" },
    settle: { type: "string", default: "31" },
    /** $SALTY_TIMING of both masters (e.g. '{"keysRecheckMs":3600000}', to see what the re-check costs). */
    "master-timing": { type: "string", default: "{}" },
  },
});
const [bin, count] = positionals;
if (!bin || !count)
  throw new Error("usage: bun storm.ts BIN N [--per-process K] [--dir DIR] [--prof DIR]");
const n = Number(count);
const perProcess = Number(values["per-process"] ?? W4_PER_PROCESS);
const dir = values.dir!;
const say = (s: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

/** Timestamps (ms) of the lines of `log` that hold `word`. */
function stamps(log: string, word: string): number[] {
  const out: number[] = [];
  for (const line of readFileSync(log, "latin1").split("\n"))
    if (line.includes(word)) out.push(Date.parse(line.slice(0, 24)));
  return out;
}

async function main(): Promise<void> {
  rmSync(join(dir, "logs"), { recursive: true, force: true });
  mkdirSync(join(dir, "logs"), { recursive: true });
  const c = await w4Fleet(resolve(bin!), dir, n);
  const port = await freePort();
  let log = join(dir, "logs", "master-1.log");
  let master = startMaster(c, port, log, [c.bin], values["master-timing"]);
  await waitForLog(log, /master\.listening/);
  const agentsSpawned = performance.now();
  const groups = startGroups(
    dir,
    port,
    n,
    perProcess,
    true,
    values["agents-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["agents-prof"]}`] : [],
    values["agents-from"]?.split(",").map((t) => resolve(t)),
  );
  const t = performance.now();
  await waitConnected(log, n, 600_000);
  say(`${n} connected first in ${((performance.now() - t) / 1000).toFixed(1)} s (load ${load()})`);
  // What N connected agents cost an idle master (keep-alive pings, the key re-check every 10 s).
  const idle0 = procStats(master.pid).cpu;
  await Bun.sleep(Number(values.settle) * 1000);
  const idle = procStats(master.pid).cpu - idle0;
  say(
    `idle with ${n} connected: master CPU ${idle.toFixed(2)} s in ${values.settle} s (${((idle / Number(values.settle)) * 100).toFixed(1)} % of a core)`,
  );
  await stop(master);
  const groupLogs = groups.map((_, s) => join(dir, "logs", `group-${s}.log`));
  const before = groupLogs.map((g) => readFileSync(g, "latin1").length);
  const agentsCpu = () => groups.reduce((sum, g) => sum + procStats(g.pid).cpu, 0);
  const a0 = agentsCpu();
  const each0 = groups.map((g) => procStats(g.pid).cpu);
  log = join(dir, "logs", "master-2.log");
  const exe = values.prof
    ? [
        process.execPath,
        "--cpu-prof",
        `--cpu-prof-dir=${values.prof}`,
        resolve(import.meta.dir, "../../cmd/main.ts"),
      ]
    : [c.bin];
  const spawned = Date.now();
  const t0 = performance.now();
  master = startMaster(c, port, log, exe, values["master-timing"]);
  await waitConnected(log, n, 300_000);
  const seconds = (performance.now() - t0) / 1000;
  const masterCpu = procStats(master.pid).cpu;
  const agents = agentsCpu() - a0;
  say(
    `${n} back in ${seconds.toFixed(2)} s (load ${load()}); master CPU ${masterCpu.toFixed(2)} s, agents' ${agents.toFixed(2)} s (${((agents / n) * 1000).toFixed(2)} ms an agent)`,
  );
  if (values["agents-from"])
    say(
      `agents' processes, CPU per reconnect: ${groups.map((g, k) => `${values["agents-from"]!.split(",")[k % 2]}: ${(((procStats(g.pid).cpu - each0[k]!) / (n / groups.length)) * 1000).toFixed(2)} ms`).join(", ")}`,
    );
  if (values["agents-prof"])
    say(
      `the storm ran from ${((t0 - agentsSpawned) / 1000).toFixed(2)} s to ${((performance.now() - agentsSpawned) / 1000).toFixed(2)} s after the agents' start`,
    );
  const listening = stamps(log, "master.listening")[0]! - spawned;
  const back = stamps(log, "agent.connected").map((x) => x - spawned);
  const perSecond: number[] = [];
  for (const b of back)
    perSecond[Math.floor(b / 1000)] = (perSecond[Math.floor(b / 1000)] ?? 0) + 1;
  say(
    `listening after ${listening} ms; back per second: ${[...perSecond].map((x) => x ?? 0).join(" ")}`,
  );
  const reasons = new Map<string, number>();
  groupLogs.forEach((g, k) => {
    const text = readFileSync(g, "latin1").slice(before[k]);
    for (const m of text.matchAll(/agent\.connect_failed .*?error=(.*)$/gm)) {
      const r = m[1]!
        .replace(/w4-\d+/g, "ID")
        .replace(/127\.[\d.]+:\d+/g, "ADDR")
        .slice(0, 120);
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
  });
  for (const [r, k] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) say(`  ${k}× ${r}`);
  const text = readFileSync(log, "latin1");
  for (const ev of [
    "secure.over_capacity",
    "secure.evicted",
    "secure.handshake_failed",
    "agent.closed",
  ]) {
    let k = 0;
    let sup = 0;
    for (const m of text.matchAll(new RegExp(`${ev.replace(".", "\\.")}[^\\n]*`, "g"))) {
      k++;
      sup += Number(/suppressed=(\d+)/.exec(m[0])?.[1] ?? 0);
    }
    if (k) say(`  master: ${k + sup} ${ev}`);
  }
  await stop(master);
  await Promise.all(groups.map(stop));
}

try {
  await main();
} finally {
  await stopAll();
}
