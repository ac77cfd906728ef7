// A man-in-the-middle TCP proxy for tests: real sockets on 127.0.0.1, frames
// from the client to the server are parsed so a test can hold, alter, replay
// or reorder them, or write raw bytes to the server.

import net from "node:net";
import { FrameDecoder, encodeFrame } from "../../lib/wire/frame.ts";

export interface Tap {
  /** Every client->server frame seen, in order (copies). */
  seen: Uint8Array[];
  /** While true, client->server frames are kept in `held` instead of forwarded. */
  hold: boolean;
  held: Uint8Array[];
  /** Every server->client frame seen, in order (copies; forwarded untouched). */
  fromServer: Uint8Array[];
  /** Write a frame (or raw bytes) to the server. */
  forward(frame: Uint8Array): void;
  raw(bytes: Uint8Array): void;
  /** Resolves when the server side of this connection closed. */
  serverClosed: Promise<void>;
}

export async function startProxy(
  targetPort: number,
): Promise<{ port: number; taps: Tap[]; close(): Promise<void> }> {
  const taps: Tap[] = [];
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    track(client);
    track(upstream);
    const decoder = new FrameDecoder(1 << 30);
    const upDecoder = new FrameDecoder(1 << 30);
    let closed!: () => void;
    const tap: Tap = {
      seen: [],
      hold: false,
      held: [],
      fromServer: [],
      forward: (frame) => upstream.write(encodeFrame(frame)),
      raw: (bytes) => upstream.write(bytes),
      serverClosed: new Promise<void>((r) => (closed = r)),
    };
    taps.push(tap);
    client.on("data", (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const copy = new Uint8Array(f);
        tap.seen.push(copy);
        if (tap.hold) tap.held.push(copy);
        else tap.forward(copy);
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      for (const f of upDecoder.push(chunk)) tap.fromServer.push(new Uint8Array(f));
      client.write(chunk);
    });
    upstream.on("close", () => {
      closed();
      client.destroy();
    });
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    taps,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
