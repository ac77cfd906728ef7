// A frame link over one of Bun's own sockets: every connection salty has, the
// ones it dials (dial.ts: an agent to its master, a client to the master's
// socket) and the ones the master accepts (tcp.ts). Not node:net: a node:net
// socket hands each chunk through a Readable stream and each write through a
// Writable one, in JavaScript; an agent answering one ping spent ~0.45 ms of
// CPU in that alone, ~0.17 ms with Bun's socket, and the master's receiving and
// writing were ~30 % of its main thread at 200 agents (docs/performance.md).
// Frames are a 4-byte big-endian length then the body (frame.ts). A bad frame
// or a socket error closes the link with a reason and never throws into the
// process. No encryption and no message decoding here: secure.ts and rpc.ts
// sit on top. Loads nothing but Bun's socket (a client command's start-up).

import type { Socket } from "bun";
import { limits, timing } from "../constants.ts";
import { FrameDecoder, frameHeader, framedLength } from "./frame.ts";
import { deliverChunk, type FrameLink } from "./link.ts";

export interface SocketLink extends FrameLink {
  /** Largest frame accepted from the peer from now on (small during the handshake). */
  setMaxFrame(n: number): void;
  /** The peer's address without the port ("127.0.0.1", "unix"), for per-address limits. */
  readonly remoteAddress: string;
  /** Send several buffers as one frame (header + parts). */
  sendParts(parts: Uint8Array[]): void;
  /** Resolves once queued bytes have drained below the high-water mark (or the link closed). */
  drained(): Promise<void>;
  /** Frames sent inside `fn` leave in one write where they fit (each write wakes the peer, ~30-100 us here). */
  batch<T>(fn: () => T): T;
}

/** A socket of a link: its `data` is the link once the socket is open (undefined before). */
export type LinkSocket = Socket<BunSocketLink | undefined>;

/** Below this many bytes waiting for the kernel, drained() resolves (node:net's high-water mark). */
const HIGH_WATER = 64 * 1024;
/** A frame this small leaves in one write (one segment), header and body joined. */
const JOIN_BELOW = 64 * 1024;
/** What a batch leaves in one write at most; larger pieces go as they are, uncopied. */
const BATCH_JOIN = 256 * 1024;

export class BunSocketLink implements SocketLink {
  private readonly decoder = new FrameDecoder(limits.maxFrame);
  private frameHandler: ((frame: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private closedWith: string | undefined;
  private closeReported = false;
  private drainWaiters: Array<() => void> = [];
  /** Bytes the kernel has not taken yet, in order; `queued` their total. */
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** Inside batch(): writes wait in the queue, joined at its end. */
  private corked = 0;
  /** Chunks received before the frame handler was set (reading is paused until then; a chunk may still come): they wait for it. */
  private early: Uint8Array[] | undefined = [];
  /** A graceful close waits for the queue to empty, then ends the socket. */
  private ending = false;
  /** The socket is closed (by the peer, an error, or terminate()). */
  private socketClosed = false;
  private linger: ReturnType<typeof setTimeout> | undefined;
  private socket!: LinkSocket;
  remoteAddress = "";
  heardAt = performance.now();

  constructor(public peer: string) {}

  /**
   * The socket is open: the link is its. Reading waits for onFrame (pause: the bytes stay in the
   * kernel, and a peer that sends on stops at its window), so a connection nobody reads yet (the
   * master's entrance line) costs no memory. `tcp`: no Nagle delay, and the peer's address.
   */
  attach(s: LinkSocket, tcp: boolean): void {
    this.socket = s;
    s.data = this;
    s.pause();
    if (!tcp) return void (this.remoteAddress = "unix");
    s.setNoDelay(true);
    this.remoteAddress = plainAddress(s.remoteAddress);
  }

  setMaxFrame(n: number): void {
    this.decoder.maxFrame = n;
  }

  send(frame: Uint8Array): void {
    this.sendParts([frame]);
  }

  sendParts(parts: Uint8Array[]): void {
    if (this.closedWith !== undefined) return;
    const length = framedLength(parts);
    if (length < JOIN_BELOW) this.write(joined(parts, length, 4));
    else {
      this.write(frameHeader(length));
      for (const p of parts) this.write(p);
    }
    if (this.queued > limits.maxSendBuffer)
      this.shut(`peer is not reading (${this.queued} bytes queued)`, false);
  }

  batch<T>(fn: () => T): T {
    this.corked++;
    try {
      return fn();
    } finally {
      if (--this.corked === 0 && !this.socketClosed) {
        this.queue = coalesce(this.queue);
        this.flush();
      }
    }
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
    if (!early) return;
    this.early = undefined;
    for (const chunk of early) this.receive(chunk);
    if (!this.socketClosed) this.socket.resume();
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closedWith !== undefined) this.report();
  }

  // The socket's events (linkEvents below).

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
    if (!this.queue.length && !this.corked) {
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
   * timing.closeLingerMs (reset); else close now. Once half-closed, the socket and the linger no longer keep
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
      // end(): closed at once with a FIN, as node:net's destroy() did (terminate() would reset it).
      this.socketClosed = true;
      clearTimeout(this.linger);
      return void this.socket.end();
    }
    if (this.ending) return;
    this.ending = true;
    this.linger = setTimeout(() => this.socket.terminate(), timing.closeLingerMs);
    // Reading resumes (if it never started) so the peer's end is seen and its bytes dropped.
    if (this.early) {
      this.early = undefined;
      this.socket.resume();
    }
    if (!this.queue.length && !this.corked) this.ended();
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

/** A link's socket events, the same for a socket dialled or accepted; nothing reaches a link before it is attached. */
export const linkEvents = {
  data: (s: LinkSocket, chunk: Uint8Array) => s.data?.receive(chunk),
  drain: (s: LinkSocket) => s.data?.flush(),
  end: (s: LinkSocket) => s.data?.gone("connection closed by peer"),
  close: (s: LinkSocket, err?: Error) =>
    s.data?.gone(err ? `socket error: ${err.message}` : "connection closed by peer"),
  error: (s: LinkSocket, err: Error) => s.data?.gone(`socket error: ${err.message}`),
};

/** "::ffff:10.0.0.1" is an IPv4 peer: show and count it as one. */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return "unknown";
  return addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
}

/** `parts` in one buffer of `length` bytes after `header` bytes (a frame's length when 4). */
function joined(parts: Uint8Array[], length: number, header: number): Uint8Array {
  const out = new Uint8Array(header + length);
  if (header) new DataView(out.buffer).setUint32(0, length);
  let at = header;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** A batch's queue as few writes: runs of pieces joined up to BATCH_JOIN bytes, a larger piece alone. */
function coalesce(queue: Uint8Array[]): Uint8Array[] {
  if (queue.length < 2) return queue;
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let size = 0;
  const end = () => {
    if (run.length > 1) out.push(joined(run, size, 0));
    else if (run.length) out.push(run[0]!);
    run = [];
    size = 0;
  };
  for (const p of queue) {
    if (size + p.length > BATCH_JOIN) end();
    run.push(p);
    size += p.length;
  }
  end();
  return out;
}
