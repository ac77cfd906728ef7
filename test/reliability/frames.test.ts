// Bad frames sent to the real master, by a peer that never authenticated and
// by one holding an accepted key (test/wire covers the library; this is the
// daemon): each is refused with a clear reason in the master's log, the
// connection or the call is refused, the master and the other agent go on,
// and nothing is written.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode as plainEncode } from "@msgpack/msgpack";
import { setLogSink } from "../../lib/log.ts";
import { frameHeader } from "../../lib/wire/frame.ts";
import { world, type World } from "../e2e/_harness.ts";
import { openRaw, rogueAgent, snapshot, type RawSocket } from "./_tools.ts";

setLogSink(() => {});

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { good: { env: "lab", roles: ["touch"] }, "rogue-*": { env: "lab", roles: [], ignore_missing: true } } } };\n`,
  "roles/touch.ts": `export default async ({ copy }) => { await copy("touch/motd", "/etc/motd"); };\n`,
  "files/touch/motd": "hello\n",
};

let w: World;
let before: Record<string, string>;
/** The keyroot and fileroot, less the job history: the master records every apply there, which is its job. */
const state = () => {
  const keyroot = Object.entries(snapshot(w.keyroot)).filter(
    ([k]) => !/^history(\.db|-spool)/.test(k),
  );
  return {
    ...Object.fromEntries(keyroot),
    ...Object.fromEntries(
      Object.entries(snapshot(w.fileroot)).map(([k, v]) => [`fileroot/${k}`, v]),
    ),
  };
};

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("good");
  await w.waitHosts(["good"]);
  before = state();
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

/** Wait for the master's log, from character `mark` on, to match. */
async function loggedSince(mark: number, re: RegExp, ms = 3000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end && !re.test(w.master!.output.slice(mark))) await Bun.sleep(20);
  return w.master!.output.slice(mark);
}

/** Resolves with the close reason, or "still open" after `ms`. */
function closedWithin(raw: RawSocket, ms: number): Promise<string> {
  return Promise.race([raw.closed, Bun.sleep(ms).then(() => "still open")]);
}

/** The master still serves: the good agent applies, nothing else was written. */
async function masterUnaffected(): Promise<void> {
  const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=good"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^host:good elapsed:\S+ errors:0/m);
  expect(state()).toEqual(before);
}

const msgpack = (v: unknown) => plainEncode(v);
/** `depth` nested one-element arrays around nil, built as bytes (no recursion anywhere). */
const nested = (depth: number) => Uint8Array.from([...Array<number>(depth).fill(0x91), 0xc0]);
/** A msgpack extension value (fixext 1, type 7). */
const extension = Uint8Array.from([
  0x94,
  0x00,
  0x01,
  0xa4,
  ...new TextEncoder().encode("ping"),
  0xd4,
  0x07,
  0x00,
]);

describe("frames from a peer that never authenticated", () => {
  const cases: Array<[string, (raw: RawSocket) => void, RegExp]> = [
    ["random bytes", (raw) => raw.writeRaw(randomBytes(4096)), /secure\.handshake_failed .*error=/],
    [
      "a length prefix of 4 GiB",
      (raw) => raw.writeRaw(Uint8Array.from([0xff, 0xff, 0xff, 0xff])),
      /secure\.handshake_failed .*frame of 4294967295 bytes exceeds the limit of 1024/,
    ],
    [
      "valid msgpack of the wrong shape",
      (raw) => raw.send(msgpack({ hello: "master", give: ["keys"] })),
      /secure\.handshake_failed .*error=/,
    ],
    [
      "an rpc request instead of a hello",
      (raw) => raw.send(msgpack([0, 1, "apply", { args: [] }])),
      /secure\.handshake_failed .*error=/,
    ],
    ["a msgpack extension type", (raw) => raw.send(extension), /secure\.handshake_failed .*error=/],
    [
      "deeply nested data",
      (raw) => raw.send(nested(100_000)),
      /secure\.handshake_failed .*frame of 100001 bytes exceeds the limit of 1024/,
    ],
  ];
  for (const [what, send, logged] of cases) {
    test(`${what}: the connection is dropped at once with a reason in the log`, async () => {
      const mark = w.master!.output.length;
      const raw = await openRaw(w.port);
      send(raw);
      expect(await closedWithin(raw, 1500)).toBe("closed by peer"); // well before the 2 s handshake timeout
      expect(await loggedSince(mark, logged)).toMatch(logged);
      await masterUnaffected();
    });
  }

  test("a truncated frame: dropped when the handshake timeout passes", async () => {
    const mark = w.master!.output.length;
    const raw = await openRaw(w.port);
    raw.writeRaw(frameHeader(36), randomBytes(10));
    expect(await closedWithin(raw, 8000)).toBe("closed by peer");
    expect(await loggedSince(mark, /handshake not finished within 2s/)).toMatch(
      /secure\.handshake_failed .*handshake not finished within 2s/,
    );
    await masterUnaffected();
  });
});

describe("frames from an authenticated agent", () => {
  async function rogue(id: string) {
    const r = await rogueAgent(w.port, w.keyroot, id);
    before = state(); // its accepted key is the test's doing, not the master's
    return r;
  }

  const fatal: Array<[string, (r: Awaited<ReturnType<typeof rogue>>) => void, RegExp]> = [
    [
      "random bytes",
      (r) => r.link.send(randomBytes(4096)),
      // Which error depends on the first bytes drawn (an extension type's header
      // 3 % of the time: "extension type N is not allowed"): any protocol error.
      /rpc\.protocol_error .*error=/,
    ],
    [
      "valid msgpack of the wrong shape",
      (r) => r.link.send(msgpack({ 0: 1, method: "file.read" })),
      /rpc\.protocol_error .*message is not an rpc array/,
    ],
    [
      "an unknown message type",
      (r) => r.link.send(msgpack([7, 1, "file.read", {}])),
      /rpc\.protocol_error .*unknown message kind 7/,
    ],
    [
      "a msgpack extension type",
      (r) => r.link.send(extension),
      /rpc\.protocol_error .*msgpack extension type 7 is not allowed/,
    ],
    [
      "a Date (the timestamp extension)",
      (r) => r.link.send(msgpack([0, 1, "file.scan", { dir: new Date() }])),
      /rpc\.protocol_error .*msgpack extension type -1 is not allowed/,
    ],
    [
      "data nested 100,000 deep",
      (r) => r.link.send(nested(100_000)),
      /rpc\.protocol_error .*(nested deeper than 64|malformed message)/,
    ],
    [
      "data nested 65 deep (one past the limit)",
      (r) => r.link.send(nested(65)),
      /rpc\.protocol_error .*nested deeper than 64 levels/,
    ],
  ];
  for (const [what, send, logged] of fatal) {
    test(`${what}: the connection is dropped with a reason in the log`, async () => {
      const r = await rogue(`rogue-${what.replace(/[^a-z0-9]+/gi, "-")}`);
      const mark = w.master!.output.length;
      send(r);
      expect(await closedWithin(r.raw, 3000)).toBe("closed by peer");
      expect(await loggedSince(mark, logged)).toMatch(logged);
      await masterUnaffected();
    });
  }

  test("a length prefix of 4 GiB under the seal: dropped at once, named in the log", async () => {
    const r = await rogue("rogue-4g");
    const mark = w.master!.output.length;
    r.raw.writeRaw(Uint8Array.from([0xff, 0xff, 0xff, 0xff]), randomBytes(64));
    expect(await closedWithin(r.raw, 3000)).toBe("closed by peer");
    const logged =
      /agent\.closed_before_hello id=rogue-4g .*reason="protocol error: frame of 4294967295 bytes exceeds the limit of 33554432"/;
    expect(await loggedSince(mark, logged)).toMatch(logged);
    await masterUnaffected();
  });

  test("a truncated frame: the peer is dropped when the keep-alive finds it silent", async () => {
    const r = await rogue("rogue-truncated");
    const mark = w.master!.output.length;
    r.raw.mute = true; // its rpc's answers to pings would be bytes of the frame: silent means silent
    r.raw.writeRaw(frameHeader(1000), randomBytes(100));
    expect(await closedWithin(r.raw, 10_000)).toBe("closed by peer");
    expect(await loggedSince(mark, /id=rogue-truncated .*reason="no answer for 2s"/)).toMatch(
      /agent\.closed_before_hello id=rogue-truncated .*reason="no answer for 2s"/,
    );
    await masterUnaffected();
  });

  test("a frame still arriving after the keep-alive timeout: its sender is not silent, and is dropped only once it stops", async () => {
    const r = await rogue("rogue-trickle");
    const mark = w.master!.output.length;
    r.raw.mute = true; // only the bytes below reach the master
    r.raw.writeRaw(frameHeader(100_000), randomBytes(10));
    // A byte every 100 ms for 3 s: past the 2 s timeout with no whole frame (a
    // 20 MB message on a slow or busy link looks like this to the master).
    for (let i = 0; i < 30 && !r.raw.isClosed; i++) {
      await Bun.sleep(100);
      r.raw.writeRaw(randomBytes(1));
    }
    expect(r.raw.isClosed).toBe(false);
    expect(await closedWithin(r.raw, 10_000)).toBe("closed by peer");
    expect(await loggedSince(mark, /id=rogue-trickle .*reason="no answer for 2s"/)).toMatch(
      /agent\.closed_before_hello id=rogue-trickle .*reason="no answer for 2s"/,
    );
    await masterUnaffected();
  });

  test("an unknown method and parameters of the wrong shape: the call is refused, the connection stays", async () => {
    const r = await rogue("rogue-calls");
    const call = (method: string, params: unknown) =>
      (r.rpc.call as (m: string, p: unknown) => Promise<unknown>)(method, params);
    await expect(call("keys.accept", { id: "rogue-calls" })).rejects.toThrow(
      "unknown method keys.accept",
    );
    await expect(call("apply", { args: [] })).rejects.toThrow("unknown method apply");
    await expect(
      call("file.read", { path: "files/touch/motd", offset: "0", length: 5 }),
    ).rejects.toThrow("offset must be an integer, got string");
    // Outside its role runs an agent reads nothing (S7), whatever the range: refused before it is looked at.
    await expect(
      call("file.read", { path: "files/touch/motd", offset: 0, length: 1e12 }),
    ).rejects.toThrow(/file reads are refused outside a role run/);
    await expect(call("file.fetch", ["files/touch/motd"])).rejects.toThrow(
      "params must be an object, got array",
    );
    await expect(call("file.scan", null)).rejects.toThrow("must be an object, got null");
    await expect(call("agent.hello", { facts: "none", version: 1 })).rejects.toThrow(
      "facts must be an object, got string",
    );
    expect(r.raw.isClosed).toBe(false);
    // The connection stays and answers (a file read would be refused: no role run is in progress).
    expect(await r.rpc.call("ping", null)).toBeNull();
    r.raw.close();
    await masterUnaffected();
  });
});

describe("facts from an authenticated agent", () => {
  test("20 MB of facts (that every other host's role would carry in its context): refused; the others apply", async () => {
    const huge = {
      kernel: "Linux",
      machine: "x86_64",
      hostname: "big",
      networking: { interfaces: [] },
      junk: "j".repeat(20 * 1024 * 1024),
    };
    const rogues = [];
    for (const id of ["rogue-facts1", "rogue-facts2"]) {
      const r = await rogueAgent(w.port, w.keyroot, id);
      rogues.push(r);
      await expect(
        r.rpc.call("agent.hello", { facts: huge as never, version: "x" }),
      ).rejects.toThrow(
        /facts of \d+ bytes exceed the limit of \d+|message of \d+ bytes exceeds the limit of \d+ for its kind/,
      );
      const small = { ...huge, hostname: "kept", junk: "" };
      await r.rpc.call("agent.hello", { facts: small as never, version: "x" });
      r.rpc.notify("agent.facts", { facts: huge as never }); // a refresh as large: refused too (logged), the old facts stay
    }
    before = state();
    await masterUnaffected();
    const hosts = JSON.parse(
      (await w.salty(["hosts", "--json", "--keyroot", w.keyroot])).stdout,
    ) as Record<string, { facts: { hostname?: string } }>;
    expect(hosts["rogue-facts1"]?.facts.hostname).toBe("kept");
    for (const r of rogues) r.raw.close();
  }, 30_000);
});

test("after all of it the master's log holds no key material", () => {
  const secret = readFileSync(join(w.keyroot, "master.key"), "utf8").trim();
  expect(w.master!.output).toContain("master.listening"); // the real log was read
  expect(w.master!.output).not.toContain(secret);
  expect(w.master!.output).not.toContain(secret.slice(0, 43)); // the seed half alone
});
