// CPU time of `salty ping '*'` and `salty run '*' -- true` to N agents (each
// its own process, as `npm run bench -- --only adhoc` runs them), on a loaded
// machine where wall clocks mislead: per command, the user+system seconds of
// the client (resourceUsage), the master and all agents together (schedstat
// of every thread), and the median wall time; then the agents' CPU by thread
// name (main, mi-scavenger, Worker, ...), per agent, and the master's.
// `bun scripts/bench/cpu-adhoc.ts BIN [AGENTS] [RUNS]`; with APPLY=1 one
// apply runs first, as `npm run bench -- --only adhoc` does (the agents then
// hold a role worker); with HOLD=1 the cluster stays up (for profiling by
// hand) until SIGTERM. Bench-only.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, stopAll, timed, processSeconds, threadSeconds } from "./_procs.ts";
import { makeW2 } from "./_workloads.ts";

const [bin, agentsArg, runsArg] = process.argv.slice(2);
if (!bin) throw new Error("usage: bun scripts/bench/cpu-adhoc.ts BIN [AGENTS] [RUNS]");
const agents = Number(agentsArg ?? 200);
const n = Number(runsArg ?? 20);
const dir = mkdtempSync(join(tmpdir(), "cpu-adhoc-"));
const w = makeW2(join(dir, "w2"));
const c = new Cluster(bin, join(dir, "w2"), w.fileroot);

/** CPU seconds of each thread of these processes so far, by process/thread id, with the thread's name. */
function threadsOf(pids: number[]): Map<string, { name: string; s: number }> {
  const m = new Map<string, { name: string; s: number }>();
  for (const pid of pids)
    try {
      for (const t of readdirSync(`/proc/${pid}/task`))
        try {
          const name = readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
          const s = threadSeconds(pid, t);
          m.set(`${pid}/${t}`, { name: pid === Number(t) ? "main" : name, s });
        } catch {} // a thread that ended
    } catch {} // a process that ended
  return m;
}

/** CPU seconds by thread name between two readings (a thread that ended meanwhile is left out), per process. */
function byName(
  a: ReturnType<typeof threadsOf>,
  b: ReturnType<typeof threadsOf>,
  per: number,
): string {
  const sum = new Map<string, number>();
  for (const [k, t] of b) sum.set(t.name, (sum.get(t.name) ?? 0) + t.s - (a.get(k)?.s ?? 0));
  return [...sum]
    .filter(([, s]) => s / per >= 1e-6)
    .sort((x, y) => y[1] - x[1])
    .map(([name, s]) => `${name} ${((s / per) * 1e6).toFixed(0)}`)
    .join(", ");
}

try {
  await c.startMaster();
  const ids = Array.from({ length: agents }, (_, i) => `w2-${String(i).padStart(3, "0")}`);
  for (const [i, a] of ids.entries()) {
    c.startAgent(a);
    if ((i + 1) % 20 === 0) await c.waitHosts(ids.slice(0, i + 1));
  }
  await c.waitHosts(ids);
  if (process.env.APPLY) {
    c.apply();
    await Bun.sleep(3000); // past the agents' idle garbage collection
  }
  const k = ["--keyroot", c.keyroot];
  if (process.env.HOLD) {
    console.log(`holding: ${bin} ping '*' ${k.join(" ")}; master ${c.master!.pid}`);
    await new Promise((r) => process.once("SIGTERM", r));
    throw new Error("stopped");
  }
  const pids = [...c.agents.values()].map((p) => p.pid);
  const measure = (argv: string[], ok: (out: string) => boolean) => {
    for (let i = 0; i < 3; i++) timed(argv); // warm-up
    const m0 = processSeconds(c.master!.pid);
    const a0 = pids.reduce((s, p) => s + processSeconds(p), 0);
    const [at0, mt0] = [threadsOf(pids), threadsOf([c.master!.pid])];
    let client = 0;
    const walls: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = timed(argv);
      if (r.code !== 0 || !ok(r.stdout)) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
      client += r.cpu;
      walls.push(r.wall);
    }
    const master = processSeconds(c.master!.pid) - m0;
    const agentsCpu = pids.reduce((s, p) => s + processSeconds(p), 0) - a0;
    const [at1, mt1] = [threadsOf(pids), threadsOf([c.master!.pid])];
    walls.sort((a, b) => a - b);
    const ms = (s: number) => ((s / n) * 1000).toFixed(1);
    console.log(
      `${argv.slice(1, 3).join(" ")} (n=${n}, ${agents} agents): client ${ms(client)} ms, master ${ms(master)} ms, agents ${ms(agentsCpu)} ms (${((agentsCpu / n / agents) * 1e6).toFixed(0)} µs each); wall median ${((walls[n >> 1] ?? NaN) * 1000).toFixed(1)} ms, min ${(walls[0]! * 1000).toFixed(1)}; load ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(`  each agent's threads, µs: ${byName(at0, at1, n * agents)}`);
    console.log(`  the master's threads, µs: ${byName(mt0, mt1, n)}`);
  };
  measure([bin, "ping", "*", ...k], (o) => o.includes(`${agents}/${agents} hosts answered`));
  measure([bin, "run", "*", ...k, "--", "true"], (o) => o.includes(`${agents} ok`));
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
