// Keep-alive (lib/wire/keepalive.ts): a side pings only when it has not heard
// its peer lately, so an idle connection carries about one ping exchange an
// interval, not one from each side; a silent peer is still dropped.

import { afterEach, expect, test } from "bun:test";
import { timing } from "../../lib/constants.ts";
import { keepAlive } from "../../lib/wire/keepalive.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { Rpc, type Method } from "../../lib/wire/rpc.ts";
import { until } from "./_helpers.ts";

type Api = { ping: Method<null, null> };
const saved = { ...timing };
afterEach(() => Object.assign(timing, saved));

/** Two ends over an in-memory link, each counting the pings it answers. */
function pair() {
  const [la, lb] = memoryPair();
  const answered = { a: 0, b: 0 };
  const a = new Rpc<Api, Api>(la, { ping: () => (answered.a++, null) });
  const b = new Rpc<Api, Api>(lb, { ping: () => (answered.b++, null) });
  return { a, b, answered };
}

test("an idle connection with keep-alive on both ends: about one ping exchange an interval, not two", async () => {
  Object.assign(timing, { pingIntervalMs: 50, peerTimeoutMs: 5_000 });
  const { a, b, answered } = pair();
  keepAlive(a);
  await Bun.sleep(17); // the two ends' timers out of phase, as two hosts' are
  keepAlive(b);
  await Bun.sleep(1_000); // ~20 intervals
  const pings = answered.a + answered.b;
  a.close("done");
  b.close("done");
  // Both pinging every interval would be ~40; each ping that is answered makes the other end skip its next one.
  expect(pings).toBeGreaterThan(5); // alive, and checked
  expect(pings).toBeLessThanOrEqual(26);
});

test("a peer that stops answering is still dropped after peerTimeoutMs", async () => {
  Object.assign(timing, { pingIntervalMs: 50, peerTimeoutMs: 300 });
  const [la, lb] = memoryPair();
  const a = new Rpc<Api, Api>(la, { ping: () => null });
  // b never answers (its ping never returns), and sends nothing of its own.
  const b = new Rpc<Api, Api>(lb, { ping: () => new Promise<null>(() => {}) });
  let reason = "";
  a.onClose((r) => (reason = r));
  keepAlive(a);
  await until(() => reason !== "", 5_000, "the silent peer to be dropped");
  expect(reason).toBe("no answer for 0.3s");
  b.close("done");
});
