// Attacks on the real master's entrance: silent and trickling peers
// (slowloris), a peer claiming an accepted agent's key without its secret, a
// recorded handshake replayed, and 1,000 connections opened at once — from
// one address and from forty. Each is refused; the agents already in keep
// working and a new agent still gets in; nothing is written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { setLogSink } from "../../lib/log.ts";
import { secureClient } from "../../lib/wire/secure.ts";
import { world, type World } from "../e2e/_harness.ts";
import { authenticated, openRaw, procStats, snapshot, until, type RawSocket } from "./_tools.ts";

setLogSink(() => {});

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "*": { env: "lab", roles: ["touch"] } } } };\n`,
  "roles/touch.ts": `export default async ({ copy }) => { await copy("touch/motd", "/etc/motd"); };\n`,
  "files/touch/motd": "hello\n",
};

let w: World;
const keyState = () => snapshot(w.keyroot);

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("good");
  await w.waitHosts(["good"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

function closedWithin(raw: RawSocket, ms: number): Promise<string> {
  return Promise.race([raw.closed, Bun.sleep(ms).then(() => "still open")]);
}

async function loggedSince(mark: number, re: RegExp, ms = 3000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end && !re.test(w.master!.output.slice(mark))) await Bun.sleep(20);
  return w.master!.output.slice(mark);
}

async function goodStillApplies(): Promise<void> {
  const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=good"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

describe("slow and silent peers (slowloris)", () => {
  test("a silent connection, a trickled hello and a peer that stops after its hello are all dropped at the handshake timeout", async () => {
    const before = keyState();
    const silent = await openRaw(w.port);
    const trickle = await openRaw(w.port);
    const stalled = await openRaw(w.port);
    const hello = new Uint8Array(40);
    new DataView(hello.buffer).setUint32(0, 36);
    hello.set([0x53, 0x4c, 0x54, 0x01], 4);
    let i = 0;
    const timer = setInterval(
      () => i < hello.length && trickle.writeRaw(hello.subarray(i, ++i)),
      150,
    );
    stalled.writeRaw(hello); // a whole, valid-looking hello, then nothing
    try {
      const t0 = Date.now();
      const reasons = await Promise.all(
        [silent, trickle, stalled].map((r) => closedWithin(r, 10_000)),
      );
      expect(reasons).toEqual(["closed by peer", "closed by peer", "closed by peer"]);
      expect(Date.now() - t0).toBeLessThan(9_000); // dropped by the timeout (2 s here), not left open
    } finally {
      clearInterval(timer);
    }
    expect(w.master!.output).toMatch(/secure\.handshake_failed .*handshake not finished within 2s/);
    expect(keyState()).toEqual(before);
    await goodStillApplies();
  });
});

describe("keys", () => {
  test("a peer presenting an accepted agent's public key without its secret key is refused; the real agent stays", async () => {
    const before = keyState();
    const mark = w.master!.output.length;
    const goodPub = nacl.sign.keyPair.fromSecretKey(
      new Uint8Array(
        Buffer.from((await Bun.file(`${w.dir}/agent-keys/good/agent.key`).text()).trim(), "base64"),
      ),
    ).publicKey;
    const impostor = { publicKey: goodPub, secretKey: nacl.sign.keyPair().secretKey };
    const raw = await openRaw(w.port);
    await expect(
      secureClient(raw, { identity: impostor, id: "good", kind: "agent" }),
    ).rejects.toThrow(/closed during the handshake/);
    expect(await loggedSince(mark, /the peer's signature is invalid/)).toMatch(
      /secure\.handshake_failed .*the peer's signature is invalid/,
    );
    expect(keyState()).toEqual(before);
    await goodStillApplies();
  });

  test("a recorded handshake replayed on a new connection is refused: nothing of it verifies against fresh keys", async () => {
    const legit = await authenticated(w.port, w.keyroot, "replayed", { record: true });
    const [m1, m3] = legit.raw.sent;
    expect(m1?.length).toBe(36);
    expect(m3?.length).toBe(130 + "replayed".length);
    const before = keyState();
    const mark = w.master!.output.length;
    for (const whileOpen of [true, false]) {
      if (!whileOpen) legit.raw.close();
      const replay = await openRaw(w.port);
      const m2 = new Promise<Uint8Array>((resolve) => replay.onFrame(resolve));
      replay.send(m1!);
      expect((await m2).length).toBe(160); // a fresh server proof...
      replay.send(m3!); // ...that the old client proof does not answer
      expect(await closedWithin(replay, 3000)).toBe("closed by peer");
    }
    expect(await loggedSince(mark, /signature is invalid[\s\S]*signature is invalid/)).toMatch(
      /secure\.handshake_failed .*the peer's signature is invalid/,
    );
    expect(w.master!.output.match(/secure\.session id=replayed /g)).toHaveLength(1); // the legitimate one only
    expect(keyState()).toEqual(before);
    await goodStillApplies();
  });
});

describe("1,000 connections opened at once by an unauthenticated peer", () => {
  async function flood(addresses: string[], total: number): Promise<RawSocket[]> {
    const opened = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        openRaw(w.port, addresses[i % addresses.length]).catch(() => undefined),
      ),
    );
    return opened.filter((r): r is RawSocket => r !== undefined);
  }

  for (const [label, addresses] of [
    ["from one address", ["127.0.0.2"]],
    [
      "from forty addresses (past the global cap)",
      Array.from({ length: 40 }, (_, i) => `127.0.1.${i + 1}`),
    ],
  ] as const) {
    test(`${label}: the excess is dropped at once, agents already in keep working, a new agent gets in, descriptors come back`, async () => {
      const masterPid = w.master!.proc.pid;
      const fdsBefore = procStats(masterPid).fds;
      const before = keyState();
      const sockets = await flood([...addresses], 1000);
      expect(sockets.length).toBeGreaterThan(900);
      // Past the address's share a connection is closed at once; past the global cap it waits in line, nothing
      // of it read, for at most three quarters of the 2 s handshake timeout: soon only the cap's handshakes are open.
      const cap = addresses.length === 1 ? 32 : 256;
      await until(
        () => sockets.filter((s) => !s.isClosed).length <= cap,
        5_000,
        `at most ${cap} flood connections open`,
      );
      await goodStillApplies();
      const late = `late-${addresses.length}`;
      await w.startAgent(late);
      await w.waitHosts([late], 15_000);
      // The flood's pending handshakes time out; the master's descriptors come back to where they were (+ the new agent).
      await until(
        () => sockets.every((s) => s.isClosed),
        10_000,
        "every flood connection to be dropped",
      );
      await until(
        () => procStats(masterPid).fds <= fdsBefore + 2,
        10_000,
        `master descriptors back near ${fdsBefore}`,
      );
      const after = keyState();
      expect(Object.keys(after).filter((k) => !(k in before))).toEqual([
        `agents/accepted/${late}.pub`,
      ]);
      await goodStillApplies();
    }, 60_000);
  }
});
