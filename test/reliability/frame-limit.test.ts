// A message larger than a frame on the local socket (no secure layer): the
// sender refuses it with a clear error instead of sending what the peer would
// refuse and drop the connection for; the call fails, the connection stays.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { limits } from "../../lib/constants.ts";
import { setLogSink } from "../../lib/log.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { connectUnix, listenUnix } from "../../lib/wire/tcp.ts";
import { tempDir } from "../_temp.ts";

setLogSink(() => {});
type Api = {
  big: { params: number; result: Uint8Array };
  echo: { params: Uint8Array; result: number };
  ping: { params: null; result: null };
};

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(): Promise<Rpc<Api, Api>> {
  const scratch = tempDir("salty-frame-");
  const dir = scratch.path;
  cleanups.push(() => scratch[Symbol.dispose]());
  const handlers = {
    big: (n: number) => new Uint8Array(n),
    echo: (b: Uint8Array) => b.length,
    ping: () => null,
  };
  const server = await listenUnix(
    join(dir, "s.sock"),
    (link) => void new Rpc<Api, Api>(link, handlers),
  );
  cleanups.push(() => server.close());
  const client = new Rpc<Api, Api>(await connectUnix(join(dir, "s.sock")), handlers);
  cleanups.push(() => client.close());
  return client;
}

describe("the frame limit on the local socket", () => {
  test("a reply too large for a frame: the call fails with a clear error, the connection stays", async () => {
    const rpc = await pair();
    await expect(rpc.call("big", limits.maxFrame + 1)).rejects.toThrow(
      /^big: message of \d+ bytes exceeds the frame limit of 33554432$/,
    );
    expect(rpc.isClosed).toBe(false);
    expect((await rpc.call("big", 10)).length).toBe(10);
  });

  test("a request too large for a frame is refused at once; nothing stays pending", async () => {
    const rpc = await pair();
    await expect(rpc.call("echo", new Uint8Array(limits.maxFrame + 1))).rejects.toThrow(
      /exceeds the frame limit/,
    );
    expect((rpc as unknown as { pending: Map<number, unknown> }).pending.size).toBe(0);
    expect(await rpc.call("echo", new Uint8Array(1000))).toBe(1000);
  });
});
