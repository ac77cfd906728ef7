// Strangers flooding the master's entrance (issue 13, S9): one address sending
// hellos as fast as it can must get no more handshakes than its rate allows;
// silent connections from ten addresses, more than the global cap of pending
// handshakes, kept full the whole time, must not keep an accepted agent out.
// Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { limits, timing } from "../../lib/constants.ts";
import { setLogSink } from "../../lib/log.ts";
import { FAST_TIMING, world, type World } from "../e2e/_harness.ts";
import { openRaw, procStats, recordFigures } from "./_tools.ts";

setLogSink(() => {});

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { good1: { env: "lab", roles: ["touch"] } } } };\n`,
  "roles/touch.ts": `export default async ({ copy }) => { await copy("touch/motd", "/etc/motd"); };\n`,
  "files/touch/motd": "hello\n",
};

let w: World;
const stop = new AbortController();

beforeAll(async () => {
  // Silent peers hold their slot for the production handshake timeout (10 s), as in the attack.
  w = await world({
    files,
    timing: JSON.stringify({ ...JSON.parse(FAST_TIMING), handshakeTimeoutMs: 10_000 }),
  });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("good1");
  await w.waitHosts(["good1"]);
});

afterAll(async () => {
  stop.abort();
  await w?.[Symbol.asyncDispose]();
});

/** `size` silent connections from `address`, each opened again as soon as the master drops it (a little later when refused at once), until stopped. */
function silentPool(
  address: string,
  size: number,
  count: { opened: number; open: number },
): Promise<void>[] {
  return Array.from({ length: size }, async () => {
    while (!stop.signal.aborted) {
      const t0 = Date.now();
      const raw = await openRaw(w.port, address).catch(() => undefined);
      count.opened++;
      if (raw) {
        count.open++;
        await Promise.race([
          raw.closed,
          new Promise((r) => stop.signal.addEventListener("abort", r)),
        ]);
        count.open--;
        raw.close();
      }
      await Bun.sleep(Date.now() - t0 > 500 ? 20 : 200);
    }
  });
}

/** Hellos from `address` one after the other as fast as the master lets them in; counts the server proofs it answered with. */
async function helloFlood(
  address: string,
  ms: number,
): Promise<{ answered: number; seconds: number }> {
  const hello = new Uint8Array(36);
  hello.set([0x53, 0x4c, 0x54, 0x01]);
  crypto.getRandomValues(hello.subarray(4));
  let answered = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const raw = await openRaw(w.port, address).catch(() => undefined);
    if (!raw) continue;
    const proof = new Promise<boolean>((resolve) => {
      raw.onFrame((f) => resolve(f.length === 160));
      void raw.closed.then(() => resolve(false));
    });
    raw.send(hello);
    if (await proof) answered++;
    raw.close();
    await Bun.sleep(2);
  }
  return { answered, seconds: (performance.now() - t0) / 1000 };
}

test("one address flooding hellos gets no more handshakes than its rate allows", async () => {
  const { answered, seconds } = await helloFlood("127.0.6.1", 4_000);
  const allowed = limits.handshakeBurst + (seconds * 1000) / timing.handshakeRefillMs;
  recordFigures("attack-wire-hello-flood", {
    hellos_answered: answered,
    seconds: Math.round(seconds * 10) / 10,
    allowed: Math.ceil(allowed),
  });
  expect(answered).toBeGreaterThan(limits.handshakeBurst / 2); // the flood was real and answered at first
  expect(answered).toBeLessThanOrEqual(Math.ceil(allowed) + 5);
}, 60_000);

test("ten addresses holding more silent connections than the global cap: an accepted agent that reconnects is let in at its first attempt and applies", async () => {
  const count = { opened: 0, open: 0 };
  const pools = Array.from({ length: 10 }, (_, i) =>
    silentPool(`127.0.5.${i + 1}`, limits.maxPendingPerAddress, count),
  ).flat();
  const t0 = Date.now();
  while (count.open < limits.maxPendingHandshakes && Date.now() - t0 < 10_000) await Bun.sleep(50);
  expect(count.open).toBeGreaterThanOrEqual(limits.maxPendingHandshakes); // every slot taken by a stranger
  // The sockets are open on our side before the master has taken them all in: wait until it says its cap is
  // reached and it is evicting strangers to make room (the extra 64 come back and evict the oldest), so that
  // the agent below really meets a full entrance.
  const full = Date.now();
  while (!/secure\.evicted /.test(w.master!.output) && Date.now() - full < 10_000)
    await Bun.sleep(50);
  expect(w.master!.output).toMatch(/secure\.evicted /);

  const old = w.agents.get("good1")!;
  old.kill("SIGKILL");
  await old.proc.exited;
  const mark = w.master!.output.length;
  const agent = await w.startAgent("good1");
  await agent.waitFor(/agent\.session /, 20_000);
  expect(agent.output).not.toMatch(/agent\.connect_failed/); // not refused, not even once
  await w.waitHosts(["good1"], 20_000);
  const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=good1"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  // The entrance stayed full while it came in: strangers go on being evicted (logged at a
  // bounded rate, so wait for the next line).
  const after = Date.now();
  while (!/secure\.evicted /.test(w.master!.output.slice(mark)) && Date.now() - after < 5_000)
    await Bun.sleep(50);
  expect(w.master!.output.slice(mark)).toMatch(/secure\.evicted /);
  stop.abort();
  await Promise.all(pools);
  recordFigures("attack-wire-flood", {
    flood_connections: count.opened,
    master_rss_mb: procStats(w.master!.proc.pid).rssMb,
  });
}, 120_000);
