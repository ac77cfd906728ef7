// A reconnect storm (issue 22): 300 agents through the real client code, 100
// behind each of three loopback addresses (as behind a NAT), keys accepted
// before; the master is restarted twice and every agent comes back each time,
// while the master's handshakes in progress stay under their caps and every
// refusal costs it no signature (refused at the door, before any crypto).
// Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Facts } from "salty";
import { runAgent } from "../../lib/agent/reconnect.ts";
import { createExecutor } from "../../lib/agent/runner.ts";
import { limits, timing } from "../../lib/constants.ts";
import { loadOrCreateIdentity } from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { world, type World } from "../e2e/_harness.ts";
import { acceptKey, recordFigures, until } from "./_tools.ts";
import { tempDir, type TempDir } from "../_temp.ts";

const AGENTS = 300;
const PER_ADDRESS = 100;
const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "st-*": { env: "lab", roles: ["touch"] } } } };\n`,
  "roles/touch.ts": `export default async ({ copy }) => { await copy("touch/motd", "/etc/motd"); };\n`,
  "files/touch/motd": "hello\n",
};
const facts = {
  kernel: "Linux",
  machine: "x86_64",
  os: { name: "Linux", version: "sim" },
  cpu_count: 1,
  mem_gb: 1,
  hostname: "sim",
  networking: { interfaces: [] },
} as unknown as Facts;

let w: World;
let scratch: TempDir | undefined;
let root = "";
const stop = new AbortController();
let running: Promise<void>[] = [];
const saved = { ...timing };

beforeAll(async () => {
  setLogSink(() => {});
  Object.assign(timing, { backoffMinMs: 200, backoffMaxMs: 2000 });
  w = await world({ files, timing: JSON.stringify({}) }); // production intervals: 300 agents in this process answer pings late
  scratch = tempDir("salty-storm-");
  root = scratch.path;
});

afterAll(async () => {
  stop.abort();
  await Promise.all(running);
  Object.assign(timing, saved);
  scratch?.[Symbol.dispose]();
  await w?.[Symbol.asyncDispose]();
});

/** Every `pending=N` the master logged (over-capacity refusals and evictions name the handshakes in progress). */
function pendingSeen(output: string): number[] {
  return [...output.matchAll(/secure\.(?:over_capacity|evicted) .*?pending=(\d+)/g)].map((m) =>
    Number(m[1]),
  );
}

test(`${AGENTS} agents behind 3 addresses come back after each of two master restarts; handshakes in progress stay bounded`, async () => {
  const ids = Array.from({ length: AGENTS }, (_, i) => `st-${String(i).padStart(3, "0")}`);
  for (const id of ids) {
    const key = await loadOrCreateIdentity(join(root, "keys", id), "agent");
    acceptKey(w.keyroot, id, key.publicKey);
    mkdirSync(join(root, "sandbox", id), { recursive: true });
  }
  await w.startMaster();
  running = ids.map((id, i) =>
    runAgent({
      host: "127.0.0.1",
      port: w.port,
      id,
      keyroot: join(root, "keys", id),
      signal: stop.signal,
      localAddress: `127.0.8.${Math.floor(i / PER_ADDRESS) + 1}`,
      session: {
        gatherFacts: async () => facts,
        execute: createExecutor({ pathPrefix: join(root, "sandbox", id) }),
        version: "storm",
      },
    }),
  );
  await w.waitHosts(ids, 120_000);
  const figures: Record<string, number> = {};
  for (const round of [1, 2]) {
    const old = w.master!;
    old.kill("SIGTERM");
    await old.proc.exited;
    const t0 = performance.now();
    await w.startMaster(); // the same port
    await until(
      () => (w.master!.output.match(/agent\.connected /g) ?? []).length >= AGENTS,
      120_000,
      `all ${AGENTS} agents back after restart ${round}`,
    );
    figures[`restart_${round}_all_back_s`] = Math.round((performance.now() - t0) / 10) / 100;
    const out = w.master!.output;
    expect(new Set([...out.matchAll(/agent\.connected id=(\S+)/g)].map((m) => m[1])).size).toBe(
      AGENTS,
    ); // each one, once
    const pending = pendingSeen(out);
    figures[`restart_${round}_refusals_logged`] = pending.length;
    expect(pending.every((p) => p <= limits.maxPendingHandshakes)).toBe(true);
    expect(out).not.toMatch(/secure\.handshake_failed .*(?:signature|confirmation)/); // no agent failed its proof
  }
  const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=st-*"]);
  // Off a TTY a slow apply (300 agents in this one process, on a loaded
  // machine) prints its progress line every 10 s on stderr; nothing else may be there.
  expect(
    r.stderr.split("\n").filter((l) => l && !/^apply \d+s: \d+\/\d+ hosts done/.test(l)),
  ).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.stdout.match(/^host:st-\d{3} /gm)).toHaveLength(AGENTS);
  recordFigures("storm", figures);
  console.log(`storm figures: ${JSON.stringify(figures)}`);
}, 600_000);
