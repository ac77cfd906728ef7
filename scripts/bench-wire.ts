// Throughput of sealed frames through a real TCP loopback pair (master and
// agent handshake, then one-way bulk frames acknowledged at the end), and of
// the handshake itself. Run: bun scripts/bench-wire.ts [--mib 4] [--frames 100]

import nacl from "tweetnacl";
import { parseArgs } from "node:util";
import { listenSecure } from "../lib/wire/secure-listener.ts";
import { secureClient } from "../lib/wire/secure.ts";
import { connectTcp, listenTcp } from "../lib/wire/tcp.ts";
import { setLogSink } from "../lib/log.ts";

const { values } = parseArgs({
  options: { mib: { type: "string", default: "4" }, frames: { type: "string", default: "100" } },
});
const size = Number(values.mib) * 1024 * 1024;
const count = Number(values.frames);
setLogSink(() => {});

/** Send `count` frames, awaiting drain like a bulk sender should; the receiver acks the last one. */
async function pump(
  send: (f: Uint8Array) => void,
  drained: () => Promise<void>,
  acked: Promise<void>,
): Promise<number> {
  const body = new Uint8Array(size).fill(7);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    send(body);
    await drained();
  }
  await acked;
  return (size * count) / 1048576 / ((performance.now() - t0) / 1000);
}

function acker(
  onFrame: (h: (f: Uint8Array) => void) => void,
  reply: (f: Uint8Array) => void,
): void {
  let n = 0;
  onFrame(() => {
    if (++n === count) reply(new Uint8Array(1));
  });
}

async function plainTcp(): Promise<number> {
  const server = await listenTcp("127.0.0.1", 0, (link) =>
    acker(
      (h) => link.onFrame(h),
      (f) => link.send(f),
    ),
  );
  const link = await connectTcp("127.0.0.1", server.port);
  const acked = new Promise<void>((r) => link.onFrame(() => r()));
  const rate = await pump(
    (f) => link.send(f),
    () => link.drained(),
    acked,
  );
  link.close();
  await server.close();
  return rate;
}

async function sealed(): Promise<{ rate: number; handshakeMs: number }> {
  const master = nacl.sign.keyPair();
  const agent = nacl.sign.keyPair();
  const server = await listenSecure({
    host: "127.0.0.1",
    port: 0,
    identity: master,
    decide: () => ({ accept: true }),
    onSession: (link) =>
      acker(
        (h) => link.onFrame(h),
        (f) => link.send(f),
      ),
  });
  const connect = async () =>
    (
      await secureClient(await connectTcp("127.0.0.1", server.port), {
        identity: agent,
        id: "bench",
        kind: "agent",
      })
    ).link;
  (await connect()).close(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) (await connect()).close();
  const handshakeMs = (performance.now() - t0) / 20;
  const link = await connect();
  const acked = new Promise<void>((r) => link.onFrame(() => r()));
  const rate = await pump(
    (f) => link.send(f),
    () => link.drained(),
    acked,
  );
  link.close();
  await server.close();
  return { rate, handshakeMs };
}

const plain = await plainTcp();
const s = await sealed();
console.log(`frames: ${count} x ${values.mib} MiB over TCP loopback`);
console.log(`plain frames:  ${plain.toFixed(0)} MB/s`);
console.log(`sealed frames: ${s.rate.toFixed(0)} MB/s (AES-256-GCM)`);
console.log(
  `handshake:     ${s.handshakeMs.toFixed(1)} ms per connection, both sides in this process (connect + 3 messages + decision)`,
);
