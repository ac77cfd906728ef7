// W4's no-change apply alone, for working on the master's per-host cost: N
// simulated agents (scripts/bench/agents.ts, --per-process a process, 10 an
// address), W2's small role applied first to the first M of them (100 at a
// time), then R no-change applies to those M, each timed as a whole command
// (`salty apply --json`), with the master's CPU per apply (all threads, and
// its main thread alone, from /proc/PID/task/TID/schedstat) and the reply's
// size. Usage:
//   bun scripts/bench/w4-apply.ts BIN N M [--runs R] [--per-process K] [--dir DIR] [--prof DIR] [--agents-prof DIR] [--text]
// --prof runs the master from source under `bun --cpu-prof` (profile in DIR) and prints the
// seconds after its start at which the measured applies began and ended (to cut the profile);
// --agents-prof likewise the agents' processes (one profile each, written when they stop).
// The agents' processes' CPU per apply is printed too (all threads). --agents-from A,B runs process s
// from checkout [A, B][s % 2] (each process's CPU printed apart): two versions of the agent side by
// side, in the same minutes of a shared machine.
// --text: the client prints text, not --json. --canned: each agent runs each role once, then answers
// with that report (the master's own cost per host, as on a real fleet); --pin: the master alone on
// CPU 0 (run the script under `taskset -c 1`); --master-env K=V the master's own environment;
// --timing JSON: $SALTY_TIMING of the master and the agents; --idle S: the master's CPU a second over S seconds with every agent connected, before the applies.
// Every process it starts is stopped by PID.
// Dev tool, not part of `npm run bench`.

import { rmSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { procStats, stopAll, timed, waitForLog, processSeconds, threadsByName } from "./_procs.ts";
import { freePort, startGroups, w4Fleet, startMaster, waitConnected } from "./_w4.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "5" },
    "per-process": { type: "string", default: "1000" },
    dir: { type: "string", default: "/tmp/salty-w4-apply" },
    prof: { type: "string" },
    "agents-prof": { type: "string" },
    "agents-from": { type: "string" },
    text: { type: "boolean", default: false },
    canned: { type: "boolean", default: false },
    pin: { type: "boolean", default: false },
    "master-env": { type: "string", multiple: true },
    idle: { type: "string", default: "0" },
    timing: { type: "string", default: "{}" },
  },
});
const [bin, count, appliedArg] = positionals;
if (!bin || !count || !appliedArg)
  throw new Error(
    "usage: bun w4-apply.ts BIN N M [--runs R] [--per-process K] [--dir DIR] [--prof DIR]",
  );
const n = Number(count);
const m = Number(appliedArg);
const runs = Number(values.runs);
const dir = values.dir!;
const say = (s: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

/** Milliseconds on the CPU of the process's threads (all, or the main one). */
const cpu = (pid: number, main = false) => processSeconds(pid, main) * 1000;

async function main(): Promise<void> {
  rmSync(join(dir, "logs"), { recursive: true, force: true });
  mkdirSync(join(dir, "logs"), { recursive: true });
  const c = await w4Fleet(resolve(bin!), dir, n);
  const port = await freePort();
  const log = join(dir, "logs", "master.log");
  const exe = values.prof
    ? [
        process.execPath,
        "--cpu-prof",
        `--cpu-prof-dir=${values.prof}`,
        resolve(import.meta.dir, "../../cmd/main.ts"),
      ]
    : [c.bin];
  // --pin: the master alone on CPU 0 (run this script under `taskset -c 1`, so that everything else
  // is on CPU 1): its wall times are then its own, not the agents' share of two cores.
  // --master-env K=V: the master's alone (JavaScriptCore's options, say), through env(1).
  if (values["master-env"]?.length) exe.unshift("env", ...values["master-env"]);
  if (values.pin) exe.unshift("taskset", "-c", "0");
  // --canned: the agents answer each role with their first run's report (agents.ts).
  if (values.canned) process.env.W4_CANNED = "1";
  const spawned = performance.now();
  const master = startMaster(c, port, log, exe, values.timing);
  await waitForLog(log, /master\.listening/);
  const agentsSpawned = performance.now();
  const groups = startGroups(
    dir,
    port,
    n,
    Number(values["per-process"]),
    true,
    values["agents-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["agents-prof"]}`] : [],
    values["agents-from"]?.split(",").map((t) => resolve(t)),
    values.timing,
  );
  const agentsCpu = () => groups.reduce((s, g) => s + cpu(g.pid), 0);
  await waitConnected(log, n, 600_000);
  say(`${n} connected`);
  const idle = Number(values.idle);
  if (idle > 0) {
    // The master's CPU with every agent connected and nothing asked: keep-alives, key re-checks, timers.
    await Bun.sleep(5000); // past the connections' own start-up
    const [i0, m0] = [cpu(master.pid), cpu(master.pid, true)];
    await Bun.sleep(idle * 1000);
    say(
      `idle, ${n} connected: master ${((cpu(master.pid) - i0) / idle).toFixed(1)} ms CPU a second (main thread ${((cpu(master.pid, true) - m0) / idle).toFixed(1)})`,
    );
  }
  const target = (prefix: string) => `target=${prefix}*`;
  const apply = (t: string) => {
    const r = timed([
      c.bin,
      "apply",
      ...(values.text ? [] : ["--json"]),
      "--keyroot",
      c.keyroot,
      t,
    ]);
    if (r.code !== 0) throw new Error(`apply ${t}: exit ${r.code}: ${r.stderr.slice(-400)}`);
    return r;
  };
  for (let b = 0; b < m / 100; b++) apply(target(`w4-${String(b).padStart(3, "0")}`));
  say(`first apply to ${m} done`);
  await Bun.sleep(2500); // past the agents' racy-stat window
  const all = `w4-${"0".repeat(5 - String(m - 1).length)}`;
  apply(target(all)); // warm
  const pid = master.pid;
  const [all0, main0, agents0] = [cpu(pid), cpu(pid, true), agentsCpu()];
  const each0 = groups.map((g) => cpu(g.pid));
  const names0 = threadsByName(pid);
  const from = (performance.now() - spawned) / 1000;
  const agentsFrom = (performance.now() - agentsSpawned) / 1000;
  const walls: number[] = [];
  let bytes = 0;
  let client = 0;
  for (let r = 0; r < runs; r++) {
    const a = apply(target(all));
    walls.push(a.wall);
    bytes = a.stdout.length;
    client += a.cpu;
  }
  const to = (performance.now() - spawned) / 1000;
  const agentsTo = (performance.now() - agentsSpawned) / 1000;
  walls.sort((a, b) => a - b);
  const per = (ms: number) => (ms / runs).toFixed(0);
  say(
    `no-change apply to ${m} of ${n} (runs ${runs}): whole command median ${walls[runs >> 1]!.toFixed(3)} s (${walls.map((x) => x.toFixed(2)).join(" ")}); master ${per(cpu(pid) - all0)} ms CPU per apply (main thread ${per(cpu(pid, true) - main0)}); agents ${per(agentsCpu() - agents0)} ms CPU per apply (${((agentsCpu() - agents0) / runs / m).toFixed(3)} ms an agent-apply); client ${per(client * 1000)} ms CPU, output ${bytes} bytes; load ${loadavg()[0]!.toFixed(1)}`,
  );
  const names = [...threadsByName(pid)]
    .map(([name, sec]): [string, number] => [name, ((sec - (names0.get(name) ?? 0)) * 1000) / runs])
    .filter(([, ms]) => ms >= 1)
    .sort((a, b) => b[1] - a[1]);
  await Bun.sleep(3000);
  const rss3 = procStats(pid).rss / 1024;
  await Bun.sleep(5000);
  say(
    `master RSS 3 s after the last apply: ${rss3.toFixed(0)} MB, 8 s after: ${(procStats(pid).rss / 1024).toFixed(0)} MB`,
  );
  say(
    `master CPU per apply by thread: ${names.map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`).join(", ")}`,
  );
  if (values["agents-from"])
    say(
      `agents' processes, CPU per agent-apply: ${groups.map((g, k) => `${values["agents-from"]!.split(",")[k % 2]}: ${((cpu(g.pid) - each0[k]!) / runs / (m / groups.length)).toFixed(3)} ms (RSS ${(procStats(g.pid).rss / 1024).toFixed(0)} MB)`).join(", ")}`,
    );
  if (values.prof || values["agents-prof"])
    say(
      `measured applies from ${from.toFixed(2)} s to ${to.toFixed(2)} s after the master's spawn, ${agentsFrom.toFixed(2)} s to ${agentsTo.toFixed(2)} s after the agents'`,
    );
}

try {
  await main();
} finally {
  await stopAll();
}
