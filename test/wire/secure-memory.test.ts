// The secure channel over in-memory links (bootstrap uses them), the sealed-frame
// contract through a controllable relay, and the RPC layer on top of secure links.

import { afterEach, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { memoryPair } from "../../lib/wire/memory.ts";
import type { FrameLink } from "../../lib/wire/link.ts";
import { Rpc, type Method } from "../../lib/wire/rpc.ts";
import { secureClient, secureServer, type SealedLink } from "../../lib/wire/secure.ts";
import { limits } from "../../lib/constants.ts";
import { collect, str, text, until } from "./_helpers.ts";
import { logs } from "./_secure-fixture.ts";
import { connectTcp, listenTcp } from "../../lib/wire/tcp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** client <-> relay <-> server in memory; client->server frames pass through `relay.pass`. */
function relayed() {
  const [client, x] = memoryPair(["client", "relay"]);
  const [y, server] = memoryPair(["relay", "server"]);
  const relay = {
    seen: [] as Uint8Array[],
    hold: false,
    held: [] as Uint8Array[],
    forward: (f: Uint8Array) => y.send(f),
  };
  x.onFrame((f) => {
    relay.seen.push(f);
    if (relay.hold) relay.held.push(f);
    else y.send(f);
  });
  y.onFrame((f) => x.send(f));
  x.onClose((r) => y.close(r));
  y.onClose((r) => x.close(r));
  return { client, server, relay };
}

async function established(client: FrameLink, server: FrameLink) {
  const master = nacl.sign.keyPair();
  const agent = nacl.sign.keyPair();
  const s = secureServer(server, { identity: master, decide: () => ({ accept: true }) });
  const c = await secureClient(client, {
    identity: agent,
    id: "mem1",
    kind: "agent",
    masterKey: master.publicKey,
  });
  const { link, peer } = await s;
  return { client: c.link, server: link, peer, agent };
}

describe("secure channel over memory links", () => {
  test("handshake and frames both ways", async () => {
    const [a, b] = memoryPair();
    const { client, server, peer, agent } = await established(a, b);
    expect(peer).toEqual({ id: "mem1", kind: "agent", publicKey: agent.publicKey });
    const [cc, sc] = [collect(client), collect(server)];
    client.send(text("up"));
    server.send(text("down"));
    server.send(new Uint8Array(0));
    expect(str(await sc.next())).toBe("up");
    expect(str(await cc.next())).toBe("down");
    expect((await cc.next()).length).toBe(0);
  });

  const attacks: Array<[string, (r: ReturnType<typeof relayed>["relay"]) => void]> = [
    ["tampered", (r) => r.forward(r.held[0]!.map((b, i) => (i === 3 ? b ^ 0x80 : b)))],
    ["replayed", (r) => (r.forward(r.held[0]!), r.forward(r.held[0]!))],
    ["reordered", (r) => (r.forward(r.held[1]!), r.forward(r.held[0]!))],
    ["truncated", (r) => r.forward(r.held[0]!.subarray(0, 10))],
    ["zero-length", (r) => r.forward(new Uint8Array(0))],
  ];
  test.each(attacks)("a %s frame closes the link", async (_name, attack) => {
    const { client, server, relay } = relayed();
    const est = await established(client, server);
    const sc = collect(est.server);
    relay.hold = true;
    est.client.send(text("one"));
    est.client.send(text("two"));
    await until(() => relay.held.length === 2);
    attack(relay);
    expect(await sc.closed).toBe(
      "authentication failed: frame tampered, replayed, reordered or truncated",
    );
  });

  test("a message too large for the peer is refused at the sender; the link stays up", async () => {
    const [a, b] = memoryPair();
    const { client, server } = await established(a, b);
    const sc = collect(server);
    expect(() => client.send(new Uint8Array(limits.maxFrame - 15))).toThrow(
      `message of ${limits.maxFrame - 15} bytes exceeds the frame limit of ${limits.maxFrame}`,
    );
    client.send(text("fine"));
    expect(str(await sc.next())).toBe("fine");
  });

  test("a throwing frame handler closes the link without an uncaught error", async () => {
    const [a, b] = memoryPair();
    const { client, server } = await established(a, b);
    const closed = new Promise<string>((r) => server.onClose(r));
    server.onFrame(() => {
      throw new Error("handler bug");
    });
    client.send(text("x"));
    expect(await closed).toBe("internal error: handler bug");
    expect(logs.some((l) => l.includes("wire.handler_error") && l.includes("handler bug"))).toBe(
      true,
    );
  });
});

type ServerApi = {
  add: Method<{ a: number; b: number }, number>;
  blob: Method<Uint8Array, number>;
};
type ClientApi = { whoami: Method<null, string> };

async function rpcPair(client: SealedLink, server: SealedLink) {
  const s = new Rpc<ServerApi, ClientApi>(server, {
    add: ({ a, b }) => a + b,
    blob: (u) => u.length,
  });
  const c = new Rpc<ClientApi, ServerApi>(client, { whoami: () => "agent mem1" });
  return { s, c };
}

describe("rpc over secure links", () => {
  test("calls in both directions over memory", async () => {
    const [a, b] = memoryPair();
    const { client, server } = await established(a, b);
    const { s, c } = await rpcPair(client, server);
    const sums = await Promise.all(
      Array.from({ length: 50 }, (_, i) => c.call("add", { a: i, b: 1 })),
    );
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await s.call("whoami", null)).toBe("agent mem1");
  });

  test("calls in both directions over TCP, with a 4 MiB payload; pending calls fail when the link drops", async () => {
    const master = nacl.sign.keyPair();
    const links: Promise<{ link: SealedLink }>[] = [];
    const srv = await listenTcp("127.0.0.1", 0, (raw) =>
      links.push(secureServer(raw, { identity: master, decide: () => ({ accept: true }) })),
    );
    cleanups.push(() => srv.close());
    const raw = await connectTcp("127.0.0.1", srv.port);
    const { link: client } = await secureClient(raw, {
      identity: nacl.sign.keyPair(),
      id: "tcp1",
      kind: "agent",
    });
    const { link: server } = await links[0]!;
    const { s, c } = await rpcPair(client, server);
    expect(await c.call("blob", new Uint8Array(4 << 20))).toBe(4 << 20);
    expect(await s.call("whoami", null)).toBe("agent mem1");
    const never = s.call("whoami", null, { timeoutMs: 5000 });
    client.close("agent shutting down");
    const err = await never.catch((e) => e);
    expect(err.code).toBe("E_CONN_LOST");
    expect(err.message).toBe("whoami: connection lost (connection closed by peer)");
  });
});
