import { describe, expect, test } from "bun:test";
import { Rpc, RpcError, nullReply, type Method } from "../../lib/wire/rpc.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { decode, encode } from "../../lib/wire/codec.ts";
import { SaltyError } from "../../lib/errors.ts";

type A = {
  add: Method<{ a: number; b: number }, number>;
  fail: Method<null, null>;
  slow: Method<number, string>;
};
type B = { echo: Method<string, string> };

function pair() {
  const [la, lb] = memoryPair();
  const a = new Rpc<A, B>(la, {
    add: ({ a, b }) => a + b,
    fail: () => {
      throw new SaltyError("it broke", "E_BROKE");
    },
    slow: (ms) => new Promise((r) => setTimeout(() => r(`slept ${ms}`), ms)),
  });
  const b = new Rpc<B, A>(lb, { echo: async (s) => `echo ${s}` });
  return { a, b, la, lb };
}

describe("rpc", () => {
  test("many calls in flight in both directions, replies matched by id", async () => {
    const { a, b } = pair();
    const slow = b.call("slow", 30);
    const sums = await Promise.all(
      Array.from({ length: 100 }, (_, i) => b.call("add", { a: i, b: 1 })),
    );
    expect(sums).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await a.call("echo", "hi")).toBe("echo hi");
    expect(await slow).toBe("slept 30");
  });

  test("a handler's error reaches the caller as RpcError with its code", async () => {
    const { b } = pair();
    const err = await b.call("fail", null).catch((e) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err.code).toBe("E_BROKE");
    expect(err.message).toBe("fail: it broke");
  });

  test("an unknown method is refused, the connection stays", async () => {
    const { b } = pair();
    const err = await (b as unknown as Rpc<B, Record<string, Method<null, null>>>)
      .call("nope", null)
      .catch((e) => e);
    expect(err.code).toBe("E_UNKNOWN_METHOD");
    expect(await b.call("add", { a: 1, b: 2 })).toBe(3);
  });

  test("a call times out with a clear error", async () => {
    const { b } = pair();
    const err = await b.call("slow", 200, { timeoutMs: 20 }).catch((e) => e);
    expect(err.code).toBe("E_TIMEOUT");
    expect(err.message).toMatch(/slow: no reply within 0.02s/);
  });

  test("pending calls are rejected with connection lost when the peer goes away", async () => {
    const { a, b } = pair();
    const inflight = b.call("slow", 1000);
    a.close("peer went away");
    const err = await inflight.catch((e) => e);
    expect(err.code).toBe("E_CONN_LOST");
    expect(err.message).toMatch(/connection lost \(peer went away\)/);
    expect((await b.call("add", { a: 1, b: 1 }).catch((e) => e)).code).toBe("E_CONN_LOST");
  });

  test.each([0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1])(
    "a reply without a value (id %p) is the bytes the encoder writes",
    (id) => {
      expect([...nullReply(id)]).toEqual([...encode([1, id, null])]);
    },
  );

  test("a handler that returns nothing or undefined answers null", async () => {
    const [la, lb] = memoryPair();
    new Rpc<{ none: Method<null, null>; undef: Method<null, null> }, B>(la, {
      none: () => null,
      undef: () => undefined as never,
    });
    const b = new Rpc<B, { none: Method<null, null>; undef: Method<null, null> }>(lb, {
      echo: async (s) => s,
    });
    expect(await b.call("none", null)).toBeNull();
    expect(await b.call("undef", null)).toBeNull();
  });

  test("a message of the wrong shape drops the connection", async () => {
    const { b, la } = pair();
    const closed = new Promise<string>((r) => b.onClose(r));
    la.send(encode({ not: "an array" }));
    expect(await closed).toMatch(/protocol error: message is not an rpc array/);
  });
});

describe("rpc: messages over the limits of their kind (lib/wire/inbound.ts)", () => {
  const tiny = { bytes: 200, nodes: 50, str: 100, bin: 100, array: 20, map: 10, depth: 8 };
  const roomy = { ...tiny, bytes: 10_000, str: 20_000 };
  function limited() {
    const [la, lb] = memoryPair();
    // `a` accepts small requests from `b`, and a larger reply to echo only.
    const a = new Rpc<A, B>(
      la,
      { add: ({ a, b }) => a + b, fail: () => null, slow: (s) => String(s) },
      { request: tiny, reply: (m) => (m === "echo" ? roomy : tiny) },
    );
    const b = new Rpc<B, A>(lb, { echo: async (s) => s });
    return { a, b };
  }

  test("a request too large is answered with E_TOO_LARGE, undecoded; the connection serves the next call", async () => {
    const { a, b } = limited();
    const err = await b.call("slow", "x".repeat(300) as never).catch((e) => e);
    expect(err.code).toBe("E_TOO_LARGE");
    expect(err.message).toMatch(
      /^slow: message of \d+ bytes exceeds the limit of 200 for its kind$/,
    );
    expect(await b.call("add", { a: 1, b: 2 })).toBe(3);
    expect(a.isClosed).toBe(false);
  });

  test("a reply is measured against the limits of the call it answers; one too large fails that call only", async () => {
    const { a } = limited();
    expect(await a.call("echo", "y".repeat(4_000))).toBe("y".repeat(4_000));
    const err = await a.call("echo", "y".repeat(12_000)).catch((e) => e);
    expect(err.code).toBe("E_TOO_LARGE");
    expect(err.message).toMatch(
      /^echo: the reply was refused: message of \d+ bytes exceeds the limit of 10000/,
    );
    expect(await a.call("echo", "ok")).toBe("ok");
  });

  test("a malformed message still drops the connection", async () => {
    const { a, b } = limited();
    b.link.send(Uint8Array.from([0x94, 0x00, 0x01, 0xc1]));
    await new Promise<void>((r) => a.onClose(() => r()));
    expect(a.isClosed).toBe(true);
  });
});

describe("rpc: undecoded handlers (the agent's role requests)", () => {
  const tiny = { bytes: 200, nodes: 50, str: 100, bin: 100, array: 20, map: 10, depth: 8 };
  function undecoded() {
    const [la, lb] = memoryPair();
    const got: Uint8Array[] = [];
    const a = new Rpc<A, B>(
      la,
      { add: () => -1, fail: () => null, slow: (s) => String(s) },
      { request: tiny, reply: () => tiny },
      {
        add: async (params) => {
          got.push(params);
          const { a, b } = decode(params) as { a: number; b: number };
          return a + b;
        },
      },
    );
    const b = new Rpc<B, A>(lb, { echo: async (s) => s });
    return { a, b, got };
  }

  test("the handler gets the params as their msgpack bytes, whatever the width of its id; other methods are decoded", async () => {
    const { b, got } = undecoded();
    const sums: Promise<number>[] = [];
    // Call ids 1, 151 and 301: a fixint, a uint8 and a uint16 on the wire.
    for (const n of [1, 2, 3]) {
      sums.push(b.call("add", { a: n, b: 10 }));
      for (let i = 0; i < 149; i++) void b.call("slow", 1);
    }
    expect(await Promise.all(sums)).toEqual([11, 12, 13]);
    expect(got.map((p) => [...p])).toEqual([1, 2, 3].map((n) => [...encode({ a: n, b: 10 })]));
    expect(await b.call("slow", "x" as never)).toBe("x");
  });

  test("its requests are measured all the same: too large is refused, malformed drops the connection", async () => {
    const { a, b, got } = undecoded();
    const err = await b.call("add", { a: 1, b: 2, pad: "x".repeat(300) } as never).catch((e) => e);
    expect(err.code).toBe("E_TOO_LARGE");
    expect(await b.call("add", { a: 1, b: 2 })).toBe(3);
    // [0, 9, "add", <a map of one entry whose key is a byte that starts no value>]
    b.link.send(Uint8Array.from([0x94, 0x00, 0x09, 0xa3, 0x61, 0x64, 0x64, 0x81, 0xc1, 0x01]));
    await new Promise<void>((r) => a.onClose(() => r()));
    expect(got).toHaveLength(1);
  });
});

describe("rpc: replies as JSON text, for the client's large replies", () => {
  const value = { hosts: [{ id: "w4-00001", ok: true, ms: 1.5, note: "é ✓ \u0001", none: null }] };
  type J = { big: Method<null, unknown> };

  test("a call that asks sends a fifth element; a [4, id, text] reply gives it the parsed value", async () => {
    const [la, lb] = memoryPair();
    const sent: unknown[] = [];
    la.onFrame((f) => sent.push(decode(f)));
    const b = new Rpc<B, J>(lb, { echo: async (s) => s });
    const call = b.call("big", null, { json: true });
    await Bun.sleep(0);
    const [kind, id, method, params, ask] = sent[0] as unknown[];
    expect([kind, method, params, ask]).toEqual([0, "big", null, { json: true }]);
    la.send(encode([4, id, JSON.stringify(value)]));
    expect(await call).toEqual(value);
  });

  test("a peer that does not know it answers [1, id, value], which the call takes as ever", async () => {
    const [la, lb] = memoryPair();
    la.onFrame((f) => la.send(encode([1, (decode(f) as number[])[1], value])));
    const b = new Rpc<B, J>(lb, { echo: async (s) => s });
    expect(await b.call("big", null, { json: true })).toEqual(value);
  });

  test("the serving side answers [4, id, text] only to a request that asked", async () => {
    const [la, lb] = memoryPair();
    new Rpc<J, B>(la, { big: () => value });
    const replies: unknown[][] = [];
    lb.onFrame((f) => replies.push(decode(f) as unknown[]));
    lb.send(encode([0, 7, "big", null, { json: true }]));
    lb.send(encode([0, 8, "big", null]));
    await Bun.sleep(5);
    const [asked, plain] = [replies.find((r) => r[1] === 7)!, replies.find((r) => r[1] === 8)!];
    expect(asked[0]).toBe(4);
    expect(JSON.parse(asked[2] as string)).toEqual(value);
    expect(plain).toEqual([1, 8, value]);
  });

  test("a value whose JSON text would pass the frame limit goes as msgpack", async () => {
    const [la, lb] = memoryPair();
    // 6 MB of control characters: 36 MB as JSON escapes, over the 32 MB frame; 6 MB as msgpack.
    const control = "\u0001".repeat(6 * 1024 * 1024);
    new Rpc<J, B>(la, { big: () => ({ control }) });
    const replies: unknown[][] = [];
    lb.onFrame((f) => replies.push(decode(f) as unknown[]));
    lb.send(encode([0, 9, "big", null, { json: true }]));
    for (let i = 0; i < 200 && !replies.length; i++) await Bun.sleep(5);
    expect(replies[0]![0]).toBe(1);
    expect((replies[0]![2] as { control: string }).control).toBe(control);
  });

  test("a JSON reply to a call that did not ask for it drops the connection and fails the call", async () => {
    const [la, lb] = memoryPair();
    la.onFrame((f) => la.send(encode([4, (decode(f) as number[])[1], JSON.stringify(value)])));
    const b = new Rpc<B, J>(lb, { echo: async (s) => s });
    const err = (await b.call("big", null).catch((e) => e)) as RpcError;
    expect(err.code).toBe("E_CONN_LOST");
    expect(err.message).toMatch(/a JSON reply it did not ask for/);
  });

  test("JSON text that does not parse drops the connection and fails the call", async () => {
    const [la, lb] = memoryPair();
    la.onFrame((f) => la.send(encode([4, (decode(f) as number[])[1], "{not json"])));
    const b = new Rpc<B, J>(lb, { echo: async (s) => s });
    const err = (await b.call("big", null, { json: true }).catch((e) => e)) as RpcError;
    expect(err.code).toBe("E_CONN_LOST");
    expect(err.message).toMatch(/protocol error/);
  });
});
