// Handshake CPU: N secure handshakes (secureClient <-> secureServer) over the
// in-memory link pair, one after another, each timed alone; both sides run in
// this process, so one handshake's wall time is both sides' CPU (no I/O, no
// waiting). Prints the median and p90 in microseconds, and the process CPU
// per handshake. Usage: bun scripts/bench/handshake.ts [N] (default 2000).
// Bench-only; figures in docs/performance.md.

import nacl from "tweetnacl";
import { loadavg } from "node:os";
import { memoryPair } from "../../lib/wire/memory.ts";
import { secureClient, secureServer } from "../../lib/wire/secure.ts";

const n = Number(process.argv[2] ?? 2000);
const master = nacl.sign.keyPair();
const agent = nacl.sign.keyPair();

async function once(): Promise<void> {
  const [a, b] = memoryPair(["agent", "master"]);
  const server = secureServer(b, { identity: master, decide: () => ({ accept: true }) });
  const client = await secureClient(a, {
    identity: agent,
    id: "bench-agent",
    kind: "agent",
    masterKey: master.publicKey,
  });
  (await server).link.close("done");
  client.link.close("done");
}

for (let i = 0; i < Math.min(50, n); i++) await once(); // warm-up
const samples: number[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await once();
  samples.push((performance.now() - t) * 1000);
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
samples.sort((x, y) => x - y);
const at = (q: number) =>
  Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!);
process.stdout.write(
  JSON.stringify({
    handshakes: n,
    median_us: at(0.5),
    p90_us: at(0.9),
    cpu_us_per_handshake: Math.round((cpu.user + cpu.system) / n),
    per_second: Math.round(n / (wall / 1000)),
    load: loadavg().map((x) => Number(x.toFixed(2))),
  }) + "\n",
);
