// An active attacker between an agent and the master (a real TCP proxy) alters
// established sessions: each attack must drop that session only, while another
// session on the same listener keeps working.

import { afterEach, describe, expect, test } from "bun:test";
import { limits } from "../../lib/constants.ts";
import { frameHeader } from "../../lib/wire/frame.ts";
import type { SealedLink } from "../../lib/wire/secure.ts";
import { collect, text, until } from "./_helpers.ts";
import { startProxy, type Tap } from "./_proxy.ts";
import { logs, roundTrip, secureFixture, type Fixture } from "./_secure-fixture.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const AUTH_FAILED = "authentication failed: frame tampered, replayed, reordered or truncated";

interface Scene {
  fx: Fixture;
  bystander: SealedLink;
  victim: SealedLink;
  tap: Tap;
  /** The master's side of the victim's session closed with this reason. */
  serverReason: Promise<string>;
}

/** A bystander connected directly, a victim through the proxy; both proven working. */
async function scene(): Promise<Scene> {
  const fx = await secureFixture(cleanups);
  const proxy = await startProxy(fx.listener.port);
  cleanups.push(() => proxy.close());
  const bystander = await fx.connect("bystander");
  const victim = await fx.connect("victim", { port: proxy.port });
  expect(await roundTrip(victim, "before")).toBe("echo:before");
  expect(await roundTrip(bystander, "before")).toBe("echo:before");
  const session = fx.sessions.find((s) => s.peer.id === "victim")!;
  return { fx, bystander, victim, tap: proxy.taps[0]!, serverReason: session.closed };
}

/** The victim's session is gone on both ends; the bystander still gets answers. */
async function onlyVictimDropped(s: Scene, reason: string | RegExp): Promise<void> {
  const r = await s.serverReason;
  if (typeof reason === "string") expect(r).toBe(reason);
  else expect(r).toMatch(reason);
  await collect(s.victim).closed;
  expect(await roundTrip(s.bystander, "still there")).toBe("echo:still there");
  expect(await roundTrip(await s.fx.connect("newcomer"), "hi")).toBe("echo:hi");
}

describe("attacks on an established session", () => {
  test("a tampered byte", async () => {
    const s = await scene();
    s.tap.hold = true;
    s.victim.send(text("transfer 100 to alice"));
    await until(() => s.tap.held.length === 1);
    const frame = s.tap.held[0]!;
    frame[5]! ^= 0x01;
    s.tap.forward(frame);
    await onlyVictimDropped(s, AUTH_FAILED);
    expect(logs.some((l) => l.includes("secure.frame_rejected") && l.includes("frame=1"))).toBe(
      true,
    );
  });

  test("a replayed frame", async () => {
    const s = await scene();
    const before = s.tap.seen.at(-1)!; // the sealed "before" frame, already accepted once
    s.tap.forward(before);
    await onlyVictimDropped(s, AUTH_FAILED);
  });

  test("two frames reordered", async () => {
    const s = await scene();
    s.tap.hold = true;
    s.victim.send(text("first"));
    s.victim.send(text("second"));
    await until(() => s.tap.held.length === 2);
    s.tap.forward(s.tap.held[1]!);
    s.tap.forward(s.tap.held[0]!);
    await onlyVictimDropped(s, AUTH_FAILED);
  });

  test("a truncated frame", async () => {
    const s = await scene();
    s.tap.hold = true;
    s.victim.send(text("a message cut short"));
    await until(() => s.tap.held.length === 1);
    s.tap.forward(s.tap.held[0]!.subarray(0, 20));
    await onlyVictimDropped(s, AUTH_FAILED);
  });

  test("a frame dropped in the middle of the stream", async () => {
    const s = await scene();
    s.tap.hold = true;
    s.victim.send(text("dropped"));
    s.victim.send(text("kept"));
    await until(() => s.tap.held.length === 2);
    s.tap.forward(s.tap.held[1]!);
    await onlyVictimDropped(s, AUTH_FAILED);
  });

  test("a frame larger than the maximum", async () => {
    const s = await scene();
    s.tap.raw(frameHeader(limits.maxFrame + 1));
    await onlyVictimDropped(
      s,
      `protocol error: frame of ${limits.maxFrame + 1} bytes exceeds the limit of ${limits.maxFrame}`,
    );
  });

  test("random garbage", async () => {
    const s = await scene();
    const junk = crypto.getRandomValues(new Uint8Array(4096));
    junk.set(frameHeader(4092)); // a plausible length, then noise
    s.tap.raw(junk);
    await onlyVictimDropped(s, AUTH_FAILED);
  });

  test("a frame reflected back to its sender", async () => {
    const s = await scene();
    // Server frames so far: proof, decision (sealed #0), "echo:before" (sealed #1). The master
    // expects client frame #1 next: the reflected frame has the right counter but the other direction's key.
    expect(s.tap.fromServer.length).toBe(3);
    s.tap.forward(s.tap.fromServer[2]!);
    await onlyVictimDropped(s, AUTH_FAILED);
  });
});
