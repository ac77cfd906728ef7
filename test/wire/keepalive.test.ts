// lib/wire/keepalive.ts over an in-memory link pair: an idle connection
// carries one side's pings (not both sides'), and a peer that stops
// answering is still dropped.
import { afterAll, expect, test } from "bun:test";
import { Rpc, type Method } from "../../lib/wire/rpc.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { keepAlive } from "../../lib/wire/keepalive.ts";
import { timing } from "../../lib/constants.ts";
import { until } from "./_helpers.ts";

type Side = { ping: Method<null, null> };
const saved = { ...timing };
timing.pingIntervalMs = 40;
timing.peerTimeoutMs = 400;
afterAll(() => Object.assign(timing, saved));

/** Two sides that both run keepAlive, each counting the pings it answers. */
function pair() {
  const [la, lb] = memoryPair();
  const served = { a: 0, b: 0 };
  const a = new Rpc<Side, Side>(la, { ping: () => (served.a++, null) });
  const b = new Rpc<Side, Side>(lb, { ping: () => (served.b++, null) });
  keepAlive(a);
  keepAlive(b);
  return { a, b, served };
}

test("an idle connection carries one side's pings an interval, not both sides'", async () => {
  const { a, b, served } = pair();
  try {
    // 25 intervals: both sides pinging would answer ~50 pings in all.
    await Bun.sleep(25 * timing.pingIntervalMs);
    const total = served.a + served.b;
    expect(total).toBeGreaterThanOrEqual(8);
    expect(total).toBeLessThanOrEqual(32);
    expect(a.isClosed || b.isClosed).toBe(false);
  } finally {
    a.close();
    b.close();
  }
});

test("a peer that stops answering is dropped after peerTimeoutMs, whichever side pinged", async () => {
  for (const frozen of ["a", "b"] as const) {
    const [la, lb] = memoryPair();
    const rpcs = {
      a: new Rpc<Side, Side>(la, { ping: () => null }),
      b: new Rpc<Side, Side>(lb, { ping: () => null }),
    };
    const live = frozen === "a" ? rpcs.b : rpcs.a;
    keepAlive(live);
    // The frozen side runs no keepalive and, from now on, answers nothing.
    const stuck = frozen === "a" ? la : lb;
    stuck.onFrame(() => {});
    let reason = "";
    live.onClose((r) => (reason = r));
    await until(() => live.isClosed, 5_000, `the link to frozen ${frozen} to close`);
    expect(reason).toBe(`no answer for ${timing.peerTimeoutMs / 1000}s`);
    rpcs[frozen].close();
  }
});
