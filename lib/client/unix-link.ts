// The client's link to the local master's Unix socket, on Bun's own socket
// (Bun.connect) rather than node:net: a client command lives for one request,
// and node:net with Node's stream machinery cost it about as much CPU to load,
// connect and read through as decoding the apply report (docs/performance.md).
// Same frames as wire/tcp.ts (4-byte length, then the body; wire/frame.ts), the
// same error text for a socket that is not there, the same close semantics
// (sent bytes flushed, then the descriptor released). The master's side stays
// on wire/tcp.ts.

import type { Socket } from "bun";
import { limits, timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { FrameDecoder, frameHeader } from "../wire/frame.ts";
import type { FrameLink } from "../wire/link.ts";

class UnixLink implements FrameLink {
  readonly peer: string;
  private readonly decoder = new FrameDecoder(limits.maxFrame);
  private socket: Socket | undefined;
  private frameHandler: ((frame: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  /** Frames received before anyone takes them (the handler is set right after connecting). */
  private early: Uint8Array[] = [];
  /** Bytes the socket did not take yet (it writes what fits, at once): sent on drain, in order. */
  private unsent: Uint8Array[] = [];
  private queued = 0;
  private closedWith: string | undefined;
  private closeReported = false;
  /** Set once the socket is ended, terminated or gone. */
  private ending = false;
  private linger: ReturnType<typeof setTimeout> | undefined;

  constructor(path: string) {
    this.peer = `unix:${path}`;
  }

  attach(socket: Socket): void {
    this.socket = socket;
  }

  send(frame: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    if (frame.length > limits.maxFrame)
      throw new SaltyError(
        `message of ${frame.length} bytes exceeds the frame limit of ${limits.maxFrame}`,
        "E_FRAME_SIZE",
      );
    this.write(frameHeader(frame.length));
    this.write(frame);
  }

  close(reason = "closed"): void {
    this.shut(reason, true);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler;
    for (const f of this.early.splice(0)) this.deliver(f);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closedWith !== undefined) this.report();
  }

  // The socket's events (Bun.connect's handlers).

  data(chunk: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    let frames: Uint8Array[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      return this.shut(`protocol error: ${errorMessage(err)}`, false);
    }
    for (const f of frames) {
      if (this.closedWith !== undefined) return;
      if (this.frameHandler) this.deliver(f);
      else this.early.push(f);
    }
  }

  drain(): void {
    const s = this.socket;
    while (s && this.unsent.length) {
      const b = this.unsent[0]!;
      const n = s.write(b);
      if (n < 0) return this.shut("connection closed by peer", false);
      this.queued -= n;
      if (n < b.length) {
        this.unsent[0] = b.subarray(n);
        return;
      }
      this.unsent.shift();
    }
    if (this.ending && this.linger) {
      clearTimeout(this.linger);
      s?.end();
    }
  }

  /** The socket closed or failed: nothing more to send or end. */
  gone(reason: string): void {
    this.ending = true;
    clearTimeout(this.linger);
    this.shut(reason, false);
  }

  private write(b: Uint8Array): void {
    const s = this.socket;
    if (!s) return;
    if (this.unsent.length) {
      this.queue(b);
      return;
    }
    const n = s.write(b);
    if (n < 0) return this.shut("connection closed by peer", false);
    if (n < b.length) this.queue(b.subarray(n));
  }

  private queue(b: Uint8Array): void {
    this.unsent.push(b);
    this.queued += b.length;
    if (this.queued > limits.maxSendBuffer)
      this.shut(`peer is not reading (${this.queued} bytes queued)`, false);
  }

  private deliver(f: Uint8Array): void {
    try {
      this.frameHandler!(f);
    } catch (err) {
      // A throwing handler must not become an uncaught exception of the process.
      this.shut(`internal error: ${errorMessage(err)}`, false);
    }
  }

  /** graceful: flush what was sent, then close; else close now. Either way the descriptor is released. */
  private shut(reason: string, graceful: boolean): void {
    if (this.closedWith === undefined) {
      this.closedWith = reason;
      this.report();
    }
    const s = this.socket;
    if (!s || this.ending) return;
    if (!graceful || !this.unsent.length) {
      this.ending = true;
      if (graceful) s.end();
      else s.terminate();
      return;
    }
    // Bytes still queued: end once they are out (drain), or give up after the linger time.
    this.ending = true;
    this.linger = setTimeout(() => s.terminate(), timing.closeLingerMs);
  }

  private report(): void {
    if (this.closeReported || !this.closeHandler) return;
    this.closeReported = true;
    const handler = this.closeHandler;
    const reason = this.closedWith!;
    queueMicrotask(() => handler(reason));
  }
}

/** Connect to the Unix socket at `path`; rejects with E_CONNECT (the text wire/tcp.ts's connectUnix gives). */
export async function connectUnixLink(path: string): Promise<FrameLink> {
  const link = new UnixLink(path);
  const fail = (why: string) => new SaltyError(`cannot connect to ${path}: ${why}`, "E_CONNECT");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const ms = timing.connectTimeoutMs;
    timer = setTimeout(() => reject(fail(`no answer within ${ms / 1000}s`)), ms);
  });
  const connecting = Bun.connect({
    unix: path,
    socket: {
      data: (_s, chunk) => link.data(chunk),
      drain: () => link.drain(),
      close: () => link.gone("connection closed by peer"),
      end: () => link.gone("connection closed by peer"),
      error: (_s, err) => link.gone(`socket error: ${err.message}`),
    },
  });
  try {
    const socket = await Promise.race([connecting, timeout]);
    link.attach(socket);
    return link;
  } catch (err) {
    connecting.then((s) => s.terminate()).catch(() => {});
    if (err instanceof SaltyError) throw err;
    // As node:net words it: "connect ENOENT /run/salty/master.sock".
    const e = err as { code?: unknown; syscall?: unknown };
    throw fail(
      typeof e.code === "string"
        ? `${typeof e.syscall === "string" ? e.syscall : "connect"} ${e.code} ${path}`
        : errorMessage(err),
    );
  } finally {
    clearTimeout(timer);
  }
}
