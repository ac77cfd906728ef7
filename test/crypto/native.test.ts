// Ed25519 and X25519 through node:crypto against tweetnacl, which made every
// key, pin and signature until now: keys, signatures and shared secrets must be
// the same bytes both ways, and the handshake must run between the tweetnacl
// build (kept in _handshake-tweetnacl.ts) and this one in both directions.

import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import * as native from "../../lib/crypto/native.ts";
import * as hs from "../../lib/wire/_handshake.ts";
import * as old from "./_handshake-tweetnacl.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const messages = [
  new Uint8Array(0),
  new Uint8Array([0x72]),
  nacl.randomBytes(80),
  nacl.randomBytes(4096),
];

describe("Ed25519", () => {
  test("RFC 8032 test 1: the seed's public key and the signature of the empty message", () => {
    const seed = bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    const pair = native.signKeyPairFromSeed(seed);
    expect(hex(pair.publicKey)).toBe(
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    );
    expect(hex(native.signDetached(new Uint8Array(0), pair.secretKey))).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
  });

  test.each(messages.map((m) => [m.length, m] as const))(
    "a %i-byte message: tweetnacl's signature verifies natively, the native one with tweetnacl, and they are the same bytes",
    (_, msg) => {
      const pair = nacl.sign.keyPair();
      const theirs = nacl.sign.detached(msg, pair.secretKey);
      const ours = native.signDetached(msg, pair.secretKey);
      expect(hex(ours)).toBe(hex(theirs)); // Ed25519 is deterministic
      expect(native.verifyDetached(msg, theirs, pair.publicKey)).toBe(true);
      expect(nacl.sign.detached.verify(msg, ours, pair.publicKey)).toBe(true);
    },
  );

  test.each([0, 1, 2])(
    "key pair %i: a native pair is tweetnacl's pair of the same seed, and a tweetnacl seed gives the native same pair",
    () => {
      const mine = native.signKeyPair();
      const theirs = nacl.sign.keyPair.fromSeed(mine.secretKey.subarray(0, 32));
      expect(hex(mine.secretKey)).toBe(hex(theirs.secretKey));
      const t = nacl.sign.keyPair();
      expect(hex(native.signKeyPairFromSeed(t.secretKey.subarray(0, 32)).secretKey)).toBe(
        hex(t.secretKey),
      );
    },
  );

  const spoilers: Array<[string, (sig: Uint8Array, pub: Uint8Array) => [Uint8Array, Uint8Array]]> =
    [
      ["a flipped signature bit", (s, k) => (s.set([s[5]! ^ 1], 5), [s, k])],
      ["a short signature", (s, k) => [s.subarray(0, 63), k]],
      ["another key", (s) => [s, nacl.sign.keyPair().publicKey]],
      ["a key that is no point", (s) => [s, new Uint8Array(32).fill(0xff)]],
    ];
  test.each(spoilers)("%s fails verification (false, no throw)", (_, spoil) => {
    const pair = nacl.sign.keyPair();
    const [sig, key] = spoil(native.signDetached(messages[2]!, pair.secretKey), pair.publicKey);
    expect(native.verifyDetached(messages[2]!, sig, key)).toBe(false);
  });
});

describe("X25519", () => {
  test.each([0, 1, 2])(
    "exchange %i: a native ephemeral and a tweetnacl one agree on the same secret",
    () => {
      const mine = native.ephemeral();
      const theirs = nacl.box.keyPair();
      const a = native.agree(mine, theirs.publicKey);
      expect(a).toBeDefined();
      expect(hex(a!)).toBe(hex(nacl.scalarMult(theirs.secretKey, mine.publicKey)));
    },
  );

  test.each([
    ["zero", "0000000000000000000000000000000000000000000000000000000000000000"],
    ["one", "0100000000000000000000000000000000000000000000000000000000000000"],
    ["order 8", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"],
  ])("the low-order point %s gives no secret", (_, point) => {
    expect(native.agree(native.ephemeral(), bytes(point))).toBeUndefined();
  });
});

describe("the handshake between the tweetnacl build and this one", () => {
  const server = nacl.sign.keyPair();
  const client = nacl.sign.keyPair();
  type Impl = {
    hello(): { m1: Uint8Array; read(m2: Uint8Array): ReturnType<typeof hs.readServerProof> };
    server: typeof hs.writeServerProof;
    client: typeof hs.writeClientProof;
    check: typeof hs.readClientProof;
  };
  const ours: Impl = {
    hello() {
      const eph = hs.ephemeral();
      const m1 = hs.writeHello(eph.publicKey);
      return { m1, read: (m2) => hs.readServerProof(m1, m2, eph) };
    },
    server: hs.writeServerProof,
    client: hs.writeClientProof,
    check: hs.readClientProof,
  };
  const theirs: Impl = {
    hello() {
      const eph = nacl.box.keyPair();
      const m1 = old.writeHello(eph.publicKey);
      return { m1, read: (m2) => old.readServerProof(m1, m2, eph) };
    },
    server: old.writeServerProof,
    client: old.writeClientProof,
    check: old.readClientProof,
  };

  test.each([
    ["tweetnacl agent, native master", theirs, ours],
    ["native agent, tweetnacl master", ours, theirs],
    ["native both", ours, ours],
  ] as const)(
    "%s: both sides authenticate each other and derive the same session keys",
    (_, agent, master) => {
      const hello = agent.hello();
      const s = master.server(hello.m1, hs.readHello(hello.m1), server);
      const c = hello.read(s.m2);
      expect(hex(c.masterKey)).toBe(hex(server.publicKey));
      const proof = agent.client(c.t, client, "web-1", "agent");
      const seen = master.check(s.t, proof.m3);
      expect(seen.claim).toEqual({ id: "web-1", kind: "agent", publicKey: client.publicKey });
      const [k1, k2] = [hs.sessionKeys(c.t, proof.final), old.sessionKeys(s.t, seen.final)];
      expect(hex(k1.clientToServer)).toBe(hex(k2.clientToServer));
      expect(hex(k1.serverToClient)).toBe(hex(k2.serverToClient));
    },
  );

  test("a server proof signed by another key than it names is refused by the native client", () => {
    const hello = ours.hello();
    const s = old.writeServerProof(hello.m1, hs.readHello(hello.m1), server);
    s.m2.set(nacl.sign.keyPair().publicKey, 32);
    expect(() => hello.read(s.m2)).toThrow("the master's signature is invalid");
  });
});
