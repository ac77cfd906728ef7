// W4, one master and 10,000 agents (issue 22): the fleet runs the real agent
// code (scripts/bench/agents.ts: runAgent, the executor and operators, each
// agent with its own key, id and --path) in a few processes, each agent
// dialling from one of many loopback addresses (W4_PER_SOURCE agents an
// address: a fleet is not one host). Every key is accepted before the master
// starts, as after a restart. Measured: the reconnect storm after a master
// restart (from its spawn to the last agent's hello), the master's RSS with
// all connected, no-change applies of W2's small role to 1,000 and to all,
// and `salty ping` to all; the load average next to each figure (the machine
// may be shared). A check first: 200 agents as 200 processes and as one
// grouped process give the same apply results. Bench-only.

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { encodeKey, loadOrCreateIdentity } from "../../lib/crypto/keys.ts";
import { signKeyPair } from "../../lib/crypto/native.ts";
import { Cluster, daemon, procStats, stop, timed, waitForLog } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import { inventory, makeW2 } from "./_workloads.ts";
import type { BenchEnv } from "./_w1.ts";

export const W4_PER_PROCESS = 2_500;
/** Agents behind one source address: a fleet is mostly one host an address, some behind a NAT (the master caps
 * handshakes in progress per address, limits.maxPendingPerAddress, and that cap is for attackers: not raised here). */
export const W4_PER_SOURCE = Number(process.env.W4_PER_SOURCE ?? 10);

export interface W4Result {
  agents: number;
  processes: number;
  perProcess: number;
  perSource: number;
  /** Seconds from the restarted master's spawn until every agent said hello again (agent.connected). */
  connect: { seconds: number; load: number[]; masterCpu: number; agentsCpu: number };
  /** The master's memory with every agent connected and after the applies (kB). */
  master: { connectedRss: number; afterRss: number; hwm: number };
  /** One process of W4_PER_PROCESS agents (kB). */
  agentProcessRss: { connected: number; after: number };
  /** CPU seconds (user + system): the master's and the agent processes' for one run. */
  applies: Array<{
    agents: number;
    noChange: Figure;
    load: number[];
    masterCpu: number;
    agentsCpu: number;
  }>;
  ping: { agents: number; wall: Figure; load: number[]; masterCpu: number; agentsCpu: number };
  equivalence?: { agents: number; identical: boolean; differences: string[] };
}

const load = () => loadavg().map((x) => Number(x.toFixed(2)));
export const id = (i: number) => `w4-${String(i).padStart(5, "0")}`;
/** Agent i's source address: 127.1.x.y (y from 1 to 254), W4_PER_SOURCE agents an address. */
const source = (i: number) => {
  const a = Math.floor(i / W4_PER_SOURCE);
  return `127.1.${Math.floor(a / 254)}.${(a % 254) + 1}`;
};

/** Keys made and accepted before the master starts; each agent's keyroot pins the master's key. */
/** W4's fleet in `dir`: W2's roles, the small one for every `w4-*` agent, and `n` agent keys accepted in the master's keyroot. */
export async function w4Fleet(bin: string, dir: string, n: number): Promise<Cluster> {
  const w = makeW2(dir);
  writeFileSync(join(w.fileroot, "hosts/index.ts"), inventory("w4-*", ["small"], w.vars));
  const c = new Cluster(bin, dir, w.fileroot);
  await prepareKeys(c.keyroot, dir, n);
  return c;
}

export async function prepareKeys(keyroot: string, dir: string, n: number): Promise<void> {
  const master = await loadOrCreateIdentity(keyroot, "master");
  const accepted = join(keyroot, "agents", "accepted");
  mkdirSync(accepted, { recursive: true, mode: 0o700 });
  for (let i = 0; i < n; i++) {
    const k = join(dir, "agent-keys", id(i));
    if (existsSync(join(k, "agent.key"))) continue;
    const pair = signKeyPair();
    mkdirSync(k, { recursive: true, mode: 0o700 });
    writeFileSync(join(k, "agent.key"), encodeKey(pair.secretKey) + "\n", { mode: 0o600 });
    writeFileSync(join(k, "agent.pub"), encodeKey(pair.publicKey) + "\n");
    writeFileSync(join(k, "master.pub"), encodeKey(master.publicKey) + "\n");
    writeFileSync(join(accepted, `${id(i)}.pub`), encodeKey(pair.publicKey) + "\n");
  }
}

/**
 * Agents 0..n-1 in ceil(n / perProcess) processes, agent i in process i % processes (a batch of ids spreads over all of them).
 * `trees`: process s runs agents.ts of trees[s % trees.length] (a checkout's root), to compare two versions of the agent
 * side by side in the same minutes (w4-apply.ts --agents-from); this one's by default.
 */
export function startGroups(
  dir: string,
  port: number,
  n: number,
  perProcess: number,
  sources: boolean,
  bunFlags: string[] = [],
  trees: string[] = [resolve(import.meta.dir, "../..")],
  timing = "{}",
): Subprocess[] {
  const out: Subprocess[] = [];
  const processes = Math.ceil(n / perProcess);
  for (let s = 0; s < processes; s++) {
    const file = join(dir, `ids-${n}-${s}.txt`);
    const tokens = [];
    for (let i = s; i < n; i += processes) tokens.push(sources ? `${id(i)}@${source(i)}` : id(i));
    writeFileSync(file, tokens.join("\n") + "\n");
    out.push(
      daemon(
        [
          process.execPath,
          ...bunFlags,
          join(trees[s % trees.length]!, "scripts/bench/agents.ts"),
          `127.0.0.1:${port}`,
          dir,
          "--ids-from",
          file,
        ],
        join(dir, "logs", `group-${s}.log`),
        { ...process.env, SALTY_TIMING: timing },
      ),
    );
  }
  return out;
}

/** Count `agent.connected` lines in the master's log until there are `n` (or `ms` pass). */
export async function waitConnected(log: string, n: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let count = 0;
  while (Date.now() < end) {
    const text = existsSync(log) ? readFileSync(log, "latin1") : "";
    count = 0;
    for (
      let i = text.indexOf("agent.connected");
      i !== -1;
      i = text.indexOf("agent.connected", i + 1)
    )
      count++;
    if (count >= n) return count;
    await Bun.sleep(50);
  }
  throw new Error(`${count} of ${n} agents connected within ${ms / 1000} s (${log})`);
}

/** `exe`: how to run salty (the built binary; storm.ts may run the source under a profiler). */
export function startMaster(
  c: Cluster,
  port: number,
  log: string,
  exe = [c.bin],
  timing = "{}",
): Subprocess {
  return daemon(
    [
      ...exe,
      "master",
      "--bind",
      `127.0.0.1:${port}`,
      "--keyroot",
      c.keyroot,
      "--fileroot",
      c.fileroot,
    ],
    log,
    { ...process.env, SALTY_TIMING: timing },
  );
}

/** `sizes`: the fleet is the largest; no-change applies to each size up to `applyMax`. `checkAt`: agents of the grouped-vs-processes check (0: none). */
export async function runW4(
  env: BenchEnv,
  sizes: number[],
  checkAt = 200,
  applyMax = Math.max(...sizes),
): Promise<W4Result> {
  const n = Math.max(...sizes);
  const dir = join(env.tmp, "w4");
  rmSync(join(dir, "logs"), { recursive: true, force: true });
  env.say(`W4: making and accepting ${n} agent keys`);
  const c = await w4Fleet(env.bin, dir, n);
  const equivalence = checkAt ? await equivalent(env, c, dir, checkAt) : undefined;

  const port = await freePort();
  let log = join(dir, "logs", "w4-master-1.log");
  let master = startMaster(c, port, log);
  await waitForLog(log, /master\.listening/);
  env.say(
    `W4: ${n} agents in ${Math.ceil(n / W4_PER_PROCESS)} processes of up to ${W4_PER_PROCESS}, ${W4_PER_SOURCE} per source address`,
  );
  const groups = startGroups(dir, port, n, W4_PER_PROCESS, true);
  await waitConnected(log, n, 300_000);
  // Sessions that lasted longer than the agents' longest backoff reset it, as a fleet's long-lived sessions do.
  env.say("W4: all connected; 31 s later the master restarts (the reconnect storm)");
  await Bun.sleep(31_000);
  const agentsCpu = () => groups.reduce((sum, g) => sum + procStats(g.pid).cpu, 0);
  const cpu = () => ({ master: procStats(master.pid).cpu, agents: agentsCpu() });
  await stop(master);
  log = join(dir, "logs", "w4-master-2.log");
  const agentsCpu0 = agentsCpu();
  const t0 = performance.now();
  master = startMaster(c, port, log);
  await waitConnected(log, n, 120_000);
  const stormCpu = cpu();
  const connect = {
    seconds: (performance.now() - t0) / 1000,
    load: load(),
    masterCpu: stormCpu.master,
    agentsCpu: stormCpu.agents - agentsCpu0,
  };
  env.say(
    `W4: ${n} agents back in ${connect.seconds.toFixed(2)} s (load ${connect.load.join(" ")})`,
  );
  await Bun.sleep(2_000);
  const connectedRss = procStats(master.pid).rss;
  const agentsConnectedRss = procStats(groups[0]!.pid).rss;

  const apply = (target: string) => {
    const r = timed([c.bin, "apply", "--json", "--keyroot", c.keyroot, `target=${target}`]);
    if (r.code !== 0) {
      const errors = new Set(
        (r.stdout.match(/"error": "[^"]*"/g) ?? []).map((e) => e.replace(/w4-\d+/g, "ID")),
      );
      throw new Error(
        `salty apply target=${target} failed (exit ${r.code}): ${r.stderr.slice(-500)}; errors: ${[...errors].join(", ").slice(0, 1000)}`,
      );
    }
    // Hosts outside the target are in the report too, as "skipped".
    const report = JSON.parse(r.stdout) as {
      hosts: Array<{ status: string; changed: number; errors: number }>;
    };
    report.hosts = report.hosts.filter((h) => h.status !== "skipped");
    return {
      wall: r.wall,
      hosts: report.hosts.length,
      changed: report.hosts.reduce((s, h) => s + h.changed, 0),
      errors: report.hosts.reduce((s, h) => s + h.errors, 0),
    };
  };
  const pings: number[] = [];
  const p0 = cpu();
  for (let r = 0; r < env.runs; r++) {
    const p = timed([c.bin, "ping", "--json", "--keyroot", c.keyroot]);
    const reply = JSON.parse(p.stdout) as { hosts: Array<{ status: string }> };
    if (p.code !== 0 || reply.hosts.length !== n)
      throw new Error(`W4 ping: exit ${p.code}, ${reply.hosts.length} hosts`);
    pings.push(p.wall);
  }
  const p1 = cpu();
  const ping = {
    agents: n,
    wall: figure(pings),
    load: load(),
    masterCpu: (p1.master - p0.master) / env.runs,
    agentsCpu: (p1.agents - p0.agents) / env.runs,
  };
  // The first apply compiles the role in every simulated agent (each its own executor): 100 at a time, untimed.
  // (about 3 MB of memory and 0.1 s of CPU each here): only the agents of the apply sizes up to `applyMax` get it.
  const applied = Math.max(0, ...sizes.filter((x) => x <= applyMax));
  env.say(`W4: first apply to ${applied}, 100 at a time`);
  for (let b = 0; b < applied / 100; b++) {
    const first = apply(`w4-${String(b).padStart(3, "0")}*`);
    if (first.hosts !== Math.min(100, applied - b * 100) || first.errors)
      throw new Error(`W4 first apply: ${first.hosts} hosts, ${first.errors} errors`);
  }
  const applies: W4Result["applies"] = [];
  for (const size of sizes.filter((x) => x <= applyMax)) {
    const target = size === n ? "w4-*" : `w4-${"0".repeat(5 - String(size - 1).length)}*`;
    const samples: number[] = [];
    const c0 = cpu();
    for (let r = 0; r < env.runs; r++) {
      const a = apply(target);
      if (a.hosts !== size || a.changed || a.errors)
        throw new Error(
          `W4 no-change apply to ${size}: ${a.hosts} hosts, ${a.changed} changed, ${a.errors} errors`,
        );
      samples.push(a.wall);
    }
    const c1 = cpu();
    applies.push({
      agents: size,
      noChange: figure(samples),
      load: load(),
      masterCpu: (c1.master - c0.master) / env.runs,
      agentsCpu: (c1.agents - c0.agents) / env.runs,
    });
    env.say(
      `W4: no-change apply to ${size}: median ${figure(samples).median.toFixed(2)} s (load ${load().join(" ")})`,
    );
  }
  const stats = procStats(master.pid);
  const result: W4Result = {
    agents: n,
    processes: groups.length,
    perProcess: W4_PER_PROCESS,
    perSource: W4_PER_SOURCE,
    connect,
    master: { connectedRss, afterRss: stats.rss, hwm: stats.hwm },
    agentProcessRss: { connected: agentsConnectedRss, after: procStats(groups[0]!.pid).rss },
    applies,
    ping,
    ...(equivalence ? { equivalence } : {}),
  };
  await Promise.all([master, ...groups].map(stop));
  return result;
}

/** The apply report's per-host results without what differs from run to run (times, the host's own id and path). */
function normalized(stdout: string, root: string): Map<string, string> {
  const report = JSON.parse(stdout) as { hosts: Array<{ id: string }> };
  // `corrective`: the master's history marks changes whose inputs equal the last successful run's (the second
  // of the two runs here, whoever ran the agents), so it is not the agents' result.
  const drop = /elapsed|time|duration|started|ended|^at$|^ms$|pid|job|^corrective$/i;
  const clean = (v: unknown, hostId: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => clean(x, hostId));
    if (v && typeof v === "object")
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => !drop.test(k))
          .map(([k, x]) => [k, clean(x, hostId)]),
      );
    return typeof v === "string" ? v.split(hostId).join("ID").split(root).join("ROOT") : v;
  };
  return new Map(report.hosts.map((h) => [h.id, JSON.stringify(clean(h, h.id))]));
}

/** 200 agents as 200 processes, then the same 200 (same keys, emptied --path) in one process: the first apply's results must be the same. */
async function equivalent(
  env: BenchEnv,
  c: Cluster,
  dir: string,
  n: number,
): Promise<W4Result["equivalence"]> {
  const port = await freePort();
  const log = join(dir, "logs", "w4-check-master.log");
  const master = startMaster(c, port, log);
  await waitForLog(log, /master\.listening/);
  c.port = port;
  const ids = Array.from({ length: n }, (_, i) => id(i));
  const target = "w4-*"; // only these are connected
  const run = (): string => {
    const r = timed([c.bin, "apply", "--json", "--keyroot", c.keyroot, `target=${target}`]);
    if (r.code !== 0) throw new Error(`W4 check apply failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const wipe = () =>
    ids.forEach(
      (i) => (
        rmSync(c.sandbox(i), { recursive: true, force: true }),
        mkdirSync(c.sandbox(i), { recursive: true })
      ),
    );
  env.say(`W4 check: ${n} agents as ${n} processes`);
  wipe();
  for (const i of ids) c.startAgent(i, { backoffMinMs: 100, backoffMaxMs: 1000 });
  await waitConnected(log, n, 300_000);
  const alone = normalized(run(), dir);
  await Promise.all(ids.map((i) => c.stopAgent(i)));
  env.say(`W4 check: the same ${n} agents in one process`);
  wipe();
  const before = (readFileSync(log, "latin1").match(/agent\.connected/g) ?? []).length;
  const [group] = startGroups(dir, port, n, n, false);
  await waitConnected(log, before + n, 300_000);
  const grouped = normalized(run(), dir);
  await stop(group!);
  await stop(master);
  const around = (x: string, y: string) => {
    let k = 0;
    while (k < x.length && x[k] === y[k]) k++;
    return `…${x.slice(Math.max(0, k - 80), k + 120)} vs …${y.slice(Math.max(0, k - 80), k + 120)}`;
  };
  const differences = ids
    .filter((i) => alone.get(i) !== grouped.get(i))
    .map((i) => `${i}: ${around(alone.get(i) ?? "", grouped.get(i) ?? "")}`);
  if (alone.size !== n || grouped.size !== n)
    differences.unshift(`hosts: ${alone.size} as processes, ${grouped.size} grouped`);
  appendFileSync(join(dir, "logs", "w4-check.txt"), differences.join("\n"));
  return { agents: n, identical: differences.length === 0, differences: differences.slice(0, 3) };
}

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}
