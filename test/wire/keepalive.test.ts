// lib/wire/keepalive.ts over an in-memory link pair: the watching side (the
// master) pings only a peer that does not ping on its own, the pinging side
// (the agent) skips its ping while it hears its peer, and either side drops a
// peer that has gone silent.
import { afterAll, expect, test } from "bun:test";
import { Rpc, type Method } from "../../lib/wire/rpc.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { keepAlive } from "../../lib/wire/keepalive.ts";
import { timing } from "../../lib/constants.ts";
import { until } from "./_helpers.ts";

type Side = { ping: Method<null, null>; work: Method<null, null> };
const saved = { ...timing };
timing.pingIntervalMs = 40;
timing.peerTimeoutMs = 400;
afterAll(() => Object.assign(timing, saved));

/** A watching side (`master`) and a pinging side (`agent`), each counting the pings it answers. */
function pair() {
  const [lm, la] = memoryPair();
  const served = { master: 0, agent: 0 };
  const master = new Rpc<Side, Side>(lm, { ping: () => (served.master++, null), work: () => null });
  const agent = new Rpc<Side, Side>(la, { ping: () => (served.agent++, null), work: () => null });
  keepAlive(master, { watch: true });
  keepAlive(agent);
  return { master, agent, served };
}

test("an idle connection carries the agent's pings only, one an interval, and stays up", async () => {
  const { master, agent, served } = pair();
  try {
    await Bun.sleep(25 * timing.pingIntervalMs);
    expect(served.agent).toBe(0);
    expect(served.master).toBeGreaterThanOrEqual(8);
    expect(served.master).toBeLessThanOrEqual(26);
    expect(master.isClosed || agent.isClosed).toBe(false);
  } finally {
    master.close();
    agent.close();
  }
});

test("the watching side pings a peer that does not ping on its own, which then stays connected", async () => {
  const [lm, lp] = memoryPair();
  let served = 0;
  const master = new Rpc<Side, Side>(lm, { ping: () => null, work: () => null });
  const peer = new Rpc<Side, Side>(lp, { ping: () => (served++, null), work: () => null });
  keepAlive(master, { watch: true });
  try {
    // 25 intervals, well past peerTimeoutMs (10 intervals): the watching side's pings keep it up.
    await Bun.sleep(25 * timing.pingIntervalMs);
    expect(master.isClosed || peer.isClosed).toBe(false);
    expect(served).toBeGreaterThanOrEqual(5);
  } finally {
    master.close();
    peer.close();
  }
});

test("the pinging side skips its ping while it hears its peer", async () => {
  const { master, agent, served } = pair();
  try {
    // The master calls the agent every 5 ms (an apply's traffic): the agent hears it all the time.
    const end = performance.now() + 15 * timing.pingIntervalMs;
    while (performance.now() < end) {
      await master.call("work", null);
      await Bun.sleep(5);
    }
    expect(served.master).toBe(0);
  } finally {
    master.close();
    agent.close();
  }
});

test("a peer gone silent is dropped after peerTimeoutMs, by the pinging side and by the watching one", async () => {
  for (const watching of [false, true]) {
    const [la, lb] = memoryPair();
    const live = new Rpc<Side, Side>(la, { ping: () => null, work: () => null });
    keepAlive(live, { watch: watching });
    // The peer runs no keepalive and, from now on, answers nothing.
    lb.onFrame(() => {});
    let reason = "";
    live.onClose((r) => (reason = r));
    await until(
      () => live.isClosed,
      5_000,
      `the ${watching ? "watching" : "pinging"} side to close`,
    );
    expect(reason).toBe(`no answer for ${timing.peerTimeoutMs / 1000}s`);
    lb.close();
  }
});
