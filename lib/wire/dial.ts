// The connections we dial (an agent to its master, a client to the master's
// socket): Bun's own sockets, not node:net's. A node:net socket hands each
// chunk through a Readable stream and each write through a Writable one, in
// JavaScript that a process woken once in a while runs in the interpreter:
// an agent answering one ping spent ~0.45 ms of CPU in that alone, ~0.17 ms
// with Bun's socket (docs/performance.md, issue 17). The behaviour is
// tcp.ts's: frames, limits, the send queue and its cap, drained(), a graceful
// close that flushes. tcp.ts's connectTcp/connectUnix and client/unix-link.ts
// call it; it loads nothing but Bun's socket (a client command's start-up).

import type { Socket, TCPSocketConnectOptions } from "bun";
import { limits, timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { FrameDecoder, frameHeader, framedLength } from "./frame.ts";
import { deliverChunk } from "./link.ts";
import type { SocketLink } from "./tcp.ts";

/** Below this many bytes waiting for the kernel, drained() resolves (node:net's high-water mark). */
const HIGH_WATER = 64 * 1024;
/** A frame this small leaves in one write (one segment), header and body joined. */
const JOIN_BELOW = 64 * 1024;

class DialledLink implements SocketLink {
  private readonly decoder = new FrameDecoder(limits.maxFrame);
  private frameHandler: ((frame: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private closedWith: string | undefined;
  private closeReported = false;
  private drainWaiters: Array<() => void> = [];
  /** Bytes the kernel has not taken yet, in order; `queued` their total. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** Chunks received before the frame handler was set: they wait for it. */
  private early: Uint8Array[] | undefined = [];
  /** A graceful close waits for the queue to empty, then ends the socket. */
  private ending = false;
  /** The socket is closed (by the peer, an error, or terminate()). */
  private socketClosed = false;
  private linger: ReturnType<typeof setTimeout> | undefined;
  socket!: Socket<undefined>;
  remoteAddress = "";
  heardAt = performance.now();

  constructor(readonly peer: string) {}

  setMaxFrame(n: number): void {
    this.decoder.maxFrame = n;
  }

  send(frame: Uint8Array): void {
    this.sendParts([frame]);
  }

  sendParts(parts: Uint8Array[]): void {
    if (this.closedWith !== undefined) return;
    const length = framedLength(parts);
    if (length < JOIN_BELOW) {
      const out = new Uint8Array(4 + length);
      new DataView(out.buffer).setUint32(0, length);
      let at = 4;
      for (const p of parts) out.set(p, (at += p.length) - p.length);
      this.write(out);
    } else {
      this.write(frameHeader(length));
      for (const p of parts) this.write(p);
    }
    if (this.queued > limits.maxSendBuffer)
      this.shut(`peer is not reading (${this.queued} bytes queued)`, false);
  }

  drained(): Promise<void> {
    if (this.closedWith !== undefined || this.queued < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(reason = "closed"): void {
    this.shut(reason, true);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler;
    const early = this.early;
    this.early = undefined;
    for (const chunk of early ?? []) this.receive(chunk);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closedWith !== undefined) this.report();
  }

  // The socket's events (Bun.connect's handlers).

  receive(chunk: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    this.heardAt = performance.now();
    if (this.early) return void this.early.push(chunk);
    const why = deliverChunk(
      this.decoder,
      chunk,
      this.frameHandler,
      () => this.closedWith === undefined,
      this.peer,
    );
    if (why) this.shut(why, false);
  }

  /** The kernel takes more: what waits goes, then the waiters of drained() and a pending end. */
  flush(): void {
    while (this.queue.length) {
      const head = this.queue[0]!;
      const n = Math.max(0, this.socket.write(head));
      this.queued -= n;
      if (n < head.length) {
        this.queue[0] = head.subarray(n);
        break;
      }
      this.queue.shift();
    }
    if (this.queued < HIGH_WATER) this.wake();
    if (this.ending && !this.queue.length) this.ended();
  }

  /** The socket closed: reported once with `reason` unless the link had already closed. */
  gone(reason: string): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    clearTimeout(this.linger);
    this.shut(reason, false);
  }

  private write(b: Uint8Array): void {
    if (!this.queue.length) {
      const n = Math.max(0, this.socket.write(b));
      if (n === b.length) return;
      b = b.subarray(n);
    }
    this.queue.push(b);
    this.queued += b.length;
  }

  /**
   * graceful: flush what was sent, then half-close (the peer reads to our end and closes; what it still
   * sends is read and dropped, not left unread to become a reset), and close for good after
   * timing.closeLingerMs; else close now. Once half-closed, the socket and the linger no longer keep
   * the process alive: a client whose command is done exits without a round trip to the master.
   */
  private shut(reason: string, graceful: boolean): void {
    if (this.closedWith === undefined) {
      this.closedWith = reason;
      this.wake();
      this.report();
    }
    if (this.socketClosed) return;
    if (!graceful) {
      this.socketClosed = true;
      clearTimeout(this.linger);
      return void this.socket.terminate();
    }
    if (this.ending) return;
    this.ending = true;
    this.linger = setTimeout(() => this.socket.terminate(), timing.closeLingerMs);
    if (!this.queue.length) this.ended();
  }

  /** Everything sent is with the kernel: end our side; waiting for the peer's end keeps no process alive. */
  private ended(): void {
    this.socket.shutdown();
    this.socket.unref();
    this.linger?.unref();
  }

  private report(): void {
    if (this.closeReported || !this.closeHandler) return;
    this.closeReported = true;
    const handler = this.closeHandler;
    const reason = this.closedWith!;
    queueMicrotask(() => handler(reason));
  }

  private wake(): void {
    for (const w of this.drainWaiters.splice(0)) w();
  }
}

export interface DialOptions {
  /** For TCP. */
  host?: string;
  port?: number;
  localAddress?: string;
  /** For a Unix socket. */
  path?: string;
  /** Names the peer in messages and logs. */
  what: string;
  /** The link's peer: `what`, or `unix:PATH`. */
  peer: string;
  timeoutMs: number;
}

/** Connect; the link once connected, or SaltyError E_CONNECT naming `what`. */
export function dial(o: DialOptions): Promise<SocketLink> {
  const link = new DialledLink(o.peer);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new SaltyError(`cannot connect to ${o.what}: ${why}`, "E_CONNECT"));
    };
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs / 1000}s`), o.timeoutMs);
    const handlers = {
      open(s: Socket<undefined>) {
        if (settled) return void s.terminate(); // too late: the caller has given up
        settled = true;
        clearTimeout(timer);
        link.socket = s;
        if (o.path === undefined) {
          s.setNoDelay(true);
          const addr = s.remoteAddress;
          link.remoteAddress =
            addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
        } else link.remoteAddress = "unix";
        resolve(link);
      },
      // Until open, the link is not the caller's: a failure is connectError's.
      data: (_s: Socket<undefined>, chunk: Uint8Array) => link.receive(chunk),
      drain: () => link.flush(),
      end: () => {
        if (settled) link.gone("connection closed by peer");
      },
      close: (_s: Socket<undefined>, err?: Error) => {
        if (settled) link.gone(err ? `socket error: ${err.message}` : "connection closed by peer");
      },
      error: (_s: Socket<undefined>, err: Error) =>
        settled ? link.gone(`socket error: ${err.message}`) : fail(err.message),
      connectError: (_s: Socket<undefined>, err: Error) => fail(reason(err)),
    };
    const started =
      o.path !== undefined
        ? Bun.connect({ unix: o.path, socket: handlers })
        : Bun.connect({
            hostname: o.host!,
            port: o.port!,
            ...(o.localAddress ? { localAddress: o.localAddress } : {}),
            socket: handlers,
          } as TCPSocketConnectOptions<undefined>);
    started.catch((err: unknown) => fail(reason(err)));
  });

  /** As node:net words it ("connect ECONNREFUSED 127.0.0.1:11111", "connect ENOENT /x/master.sock"). */
  function reason(err: unknown): string {
    const e = err as { code?: unknown; syscall?: unknown };
    if (typeof e?.code !== "string") return errorMessage(err);
    const where = o.path ?? `${o.host}:${o.port}`;
    return `${typeof e.syscall === "string" ? e.syscall : "connect"} ${e.code} ${where}`;
  }
}
