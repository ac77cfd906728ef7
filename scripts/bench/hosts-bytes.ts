// What the first apply of W4's role (W2's small role) to 100 agents costs
// when N agents are connected (so the inventory's N hosts all have facts, as
// in W4): the bytes the master sends per agent applied (the kernel's count on
// its accepted TCP connections, `ss -ti` bytes_sent: sealed frames, nothing
// of salty's own counting), its CPU, the
// agents' process memory before and after, and the shared hosts the agents
// logged receiving (agent.shared_hosts; builds before the fifth session do
// not log it). Then the same apply again (no change). With --all, the first
// apply goes to every agent, 100 at a time, and the no-change one to all at
// once. Usage:
//   bun scripts/bench/hosts-bytes.ts BIN N [--all] [--dir DIR] [--per-process K]
// Run it from the tree whose agent code is to be measured (agents.ts runs
// from source), with that tree's BIN. Every process it starts is stopped by
// PID. Dev tool, not part of `npm run bench`.

import { readFileSync, readdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { procStats, stop, timed, waitForLog } from "./_procs.ts";
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
    dir: { type: "string", default: "/tmp/salty-hosts-bytes" },
    /** The first apply to every agent (100 at a time), not only the first 100; the no-change apply to all at once. */
    all: { type: "boolean", default: false },
  },
});
const [bin, count] = positionals;
if (!bin || !count)
  throw new Error("usage: bun hosts-bytes.ts BIN N [--all] [--dir DIR] [--per-process K]");
const n = Number(count);
const dir = values.dir!;
const say = (s: string) =>
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
/** Bytes sent so far on the established TCP connections whose local port is `port` (the master's accepted ones). */
function sentFrom(port: number): number {
  const r = Bun.spawnSync(["ss", "-tinH", "state", "established", "sport", "=", `:${port}`]);
  let sum = 0;
  for (const m of r.stdout.toString().matchAll(/bytes_sent:(\d+)/g)) sum += Number(m[1]);
  return sum;
}

/** The bytes of the agent.shared_hosts lines in the agents' logs, by how they came. */
function logged(): Record<string, { lines: number; bytes: number }> {
  const out: Record<string, { lines: number; bytes: number }> = {};
  for (const f of readdirSync(join(dir, "logs")).filter((f) => f.startsWith("group-")))
    for (const m of readFileSync(join(dir, "logs", f), "latin1").matchAll(
      /agent\.shared_hosts bytes=(\d+) via=(\S+)/g,
    )) {
      const o = (out[m[2]!] ??= { lines: 0, bytes: 0 });
      o.lines++;
      o.bytes += Number(m[1]);
    }
  return out;
}

async function main(): Promise<void> {
  // A first apply: nothing of an earlier run in the agents' sandboxes.
  for (const d of ["logs", "sandbox"]) rmSync(join(dir, d), { recursive: true, force: true });
  const c = await w4Fleet(resolve(bin!), dir, n);
  const port = await freePort();
  const log = join(dir, "logs", "master.log");
  const master = startMaster(c, port, log);
  const groups = startGroups(dir, port, n, Number(values["per-process"] ?? W4_PER_PROCESS), true);
  try {
    await waitForLog(log, /master\.listening/);
    await waitConnected(log, n, 600_000);
    await Bun.sleep(2_000);
    const rss = () => groups.reduce((s, g) => s + procStats(g.pid).rss, 0);
    // The first apply 100 agents at a time, as W4 does; then the same agents at once, no change.
    const batches = values.all ? Math.ceil(n / 100) : 1;
    const runs = [
      {
        kind: "first",
        targets: Array.from({ length: batches }, (_, b) => `w4-${String(b).padStart(3, "0")}*`),
      },
      { kind: "no-change", targets: [values.all ? "w4-*" : "w4-000*"] },
    ];
    for (const { kind, targets } of runs) {
      const m0 = { sent: sentFrom(port), cpu: procStats(master.pid).cpu, rss: rss() };
      let wall = 0;
      let applied = 0;
      let failed = 0;
      const exits = new Set<number>();
      for (const target of targets) {
        const r = timed([c.bin, "apply", "--json", "--keyroot", c.keyroot, `target=${target}`]);
        const hosts = (
          JSON.parse(r.stdout) as { hosts: Array<{ status: string; errors: number }> }
        ).hosts.filter((h) => h.status !== "skipped");
        wall += r.wall;
        applied += hosts.length;
        failed += hosts.filter((h) => h.errors).length;
        exits.add(r.code);
      }
      say(
        `${kind} apply to ${applied} of ${n} in ${targets.length} command(s) (exit ${[...exits].join(",")}, ${failed} failed): ${wall.toFixed(2)} s, ` +
          `master sent ${((sentFrom(port) - m0.sent) / applied / 1024).toFixed(1)} KiB an agent, ` +
          `CPU ${(procStats(master.pid).cpu - m0.cpu).toFixed(2)} s; agents' RSS ${(m0.rss / 1024).toFixed(0)} -> ${(rss() / 1024).toFixed(0)} MB ` +
          `(load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
    say(`agents logged receiving shared hosts: ${JSON.stringify(logged())}`);
  } finally {
    await stop(master);
    for (const g of groups) await stop(g);
  }
}

await main();
