// The handshake over real TCP on 127.0.0.1: who gets in, who is refused and how.

import { afterEach, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { secureClient, secureServer } from "../../lib/wire/secure.ts";
import { connectTcp, listenTcp, type SocketLink } from "../../lib/wire/tcp.ts";
import { fingerprint } from "../../lib/crypto/keys.ts";
import { timing } from "../../lib/constants.ts";
import { logs, roundTrip, secureFixture } from "./_secure-fixture.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("secure handshake over TCP", () => {
  test("both sides authenticate; frames cross both ways; the client learns the master's key", async () => {
    const fx = await secureFixture(cleanups);
    const agent = nacl.sign.keyPair();
    const raw = await connectTcp("127.0.0.1", fx.listener.port);
    cleanups.push(() => raw.close());
    const { link, masterKey } = await secureClient(raw, {
      identity: agent,
      id: "web1.foo.dev",
      kind: "agent",
    });
    expect(masterKey).toEqual(fx.master.publicKey);
    expect(await roundTrip(link, "hello")).toBe("echo:hello");
    const s = fx.sessions[0]!;
    expect(s.peer).toEqual({ id: "web1.foo.dev", kind: "agent", publicKey: agent.publicKey });
    expect(await roundTrip(link, "x".repeat(100_000))).toBe(`echo:${"x".repeat(100_000)}`);
    expect(
      logs.some(
        (l) =>
          l.includes("secure.session id=web1.foo.dev kind=agent") &&
          l.includes(fingerprint(agent.publicKey)),
      ),
    ).toBe(true);
  });

  test("sealed frames sent in a batch open in order (their nonces follow the send order)", async () => {
    const fx = await secureFixture(cleanups);
    const link = await fx.connect("web1", {});
    const got: string[] = [];
    link.onFrame((f) => got.push(new TextDecoder().decode(f)));
    link.batch!(() => {
      for (const m of ["one", "two", "three"]) link.send(new TextEncoder().encode(m));
    });
    for (let i = 0; i < 400 && got.length < 3; i++) await Bun.sleep(5);
    expect(got).toEqual(["echo:one", "echo:two", "echo:three"]);
  });

  test("a client with the right pinned master key gets in; kind client is carried", async () => {
    const fx = await secureFixture(cleanups);
    const link = await fx.connect("laptop", { kind: "client", masterKey: fx.master.publicKey });
    expect(await roundTrip(link, "hi")).toBe("echo:hi");
    expect(fx.sessions[0]!.peer.kind).toBe("client");
  });

  test("a master whose key differs from the pinned one: E_MASTER_KEY_CHANGED with both fingerprints; the server goes on", async () => {
    const fx = await secureFixture(cleanups);
    const pinned = nacl.sign.keyPair().publicKey;
    const raw = await connectTcp("127.0.0.1", fx.listener.port);
    const err = await secureClient(raw, {
      identity: nacl.sign.keyPair(),
      id: "a1",
      kind: "agent",
      masterKey: pinned,
      pinnedAt: "/etc/salty/master.pub",
    }).catch((e) => e);
    expect(err.code).toBe("E_MASTER_KEY_CHANGED");
    expect(err.message).toBe(
      `the master's key changed: expected ${fingerprint(pinned)} (pinned in /etc/salty/master.pub), the master presents ${fingerprint(fx.master.publicKey)}; ` +
        "if the master was re-keyed on purpose, delete /etc/salty/master.pub (or pass --master-key) and start again; otherwise someone may be impersonating the master",
    );
    expect(fx.sessions.length).toBe(0);
    expect(await roundTrip(await fx.connect("a2"), "after")).toBe("echo:after");
  });

  test.each([
    ["E_KEY_PENDING", "key pending: run salty keys accept a1 on the master"],
    ["E_KEY_REJECTED", "key rejected"],
    ["E_KEY_MISMATCH", "id a1 is accepted with another key"],
  ])(
    "a refusal %s reaches the client as that code with the master's reason; logged; the server goes on",
    async (code, reason) => {
      const fx = await secureFixture(cleanups, (p) =>
        p.id === "a1" ? { accept: false, code, reason } : { accept: true },
      );
      const agent = nacl.sign.keyPair();
      const raw = await connectTcp("127.0.0.1", fx.listener.port);
      const err = await secureClient(raw, { identity: agent, id: "a1", kind: "agent" }).catch(
        (e) => e,
      );
      expect(err.code).toBe(code);
      expect(err.message).toBe(
        `the master at 127.0.0.1:${fx.listener.port} refused agent a1 (key ${fingerprint(agent.publicKey)}): ${reason}`,
      );
      expect(fx.listener.pending()).toBe(0);
      const line = logs.find(
        (l) => l.includes(`secure.refused id=a1`) && l.includes(`code=${code}`),
      );
      expect(line).toContain(`fingerprint=${fingerprint(agent.publicKey)}`);
      expect(line).toMatch(/peer=127\.0\.0\.1:\d+/);
      expect(line).not.toContain(Buffer.from(agent.publicKey).toString("base64"));
      expect(fx.sessions.length).toBe(0);
      expect(await roundTrip(await fx.connect("a2"), "next")).toBe("echo:next");
    },
  );

  test("a decide() that throws refuses with E_INTERNAL; the server goes on", async () => {
    const fx = await secureFixture(cleanups, (p) => {
      if (p.id === "bad") throw new Error("disk on fire");
      return { accept: true };
    });
    const err = await fx.connect("bad").catch((e) => e);
    expect(err.code).toBe("E_INTERNAL");
    expect(err.message).toEndWith("the master could not check this key; see its log");
    expect(
      logs.some((l) => l.includes("secure.decide_failed id=bad") && l.includes("disk on fire")),
    ).toBe(true);
    expect(await roundTrip(await fx.connect("good"), "ok")).toBe("echo:ok");
  });

  test("an invalid id is refused on the client before anything is sent", async () => {
    const fx = await secureFixture(cleanups);
    for (const id of ["", "../etc", "a b", "x".repeat(256), "é"]) {
      const err = await fx.connect(id).catch((e) => e);
      expect(err.code).toBe("E_BAD_ID");
    }
    expect(fx.sessions.length).toBe(0);
  });

  test("a server reflecting the client's own hello is not mistaken for a master", async () => {
    const echo = await listenTcp("127.0.0.1", 0, (l) => l.onFrame((f) => l.send(f)));
    cleanups.push(() => echo.close());
    const raw = await connectTcp("127.0.0.1", echo.port);
    const err = await secureClient(raw, {
      identity: nacl.sign.keyPair(),
      id: "a1",
      kind: "agent",
    }).catch((e) => e);
    expect(err.code).toBe("E_HANDSHAKE");
    expect(err.message).toBe("handshake: server proof of 36 bytes, expected 160");
  });

  test("a master that never answers: the client gives up after the handshake timeout", async () => {
    const silent = await listenTcp("127.0.0.1", 0, (l) => l.onFrame(() => {}));
    cleanups.push(() => silent.close());
    const raw = await connectTcp("127.0.0.1", silent.port);
    const err = await secureClient(raw, {
      identity: nacl.sign.keyPair(),
      id: "a1",
      kind: "agent",
      timeoutMs: 100,
    }).catch((e) => e);
    expect(err.code).toBe("E_HANDSHAKE");
    expect(err.message).toBe("handshake not finished within 0.1s");
  });

  test("a peer speaking another protocol is dropped at its first frame", async () => {
    const links: SocketLink[] = [];
    const srv = await listenTcp("127.0.0.1", 0, (l) => links.push(l));
    cleanups.push(() => srv.close());
    const raw = await connectTcp("127.0.0.1", srv.port);
    cleanups.push(() => raw.close());
    while (!links.length) await Bun.sleep(2);
    const result = secureServer(links[0]!, {
      identity: nacl.sign.keyPair(),
      decide: () => ({ accept: true }),
      timeoutMs: timing.handshakeTimeoutMs,
    });
    raw.send(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const err = await result.catch((e) => e);
    expect(err.message).toBe("handshake: hello of 27 bytes, expected 36");
  });
});
