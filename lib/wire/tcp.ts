// TCP and Unix-socket transport: the socket code of salty, with dial.ts: the
// sockets we accept are node:net's, those we dial Bun's own (lighter for a
// process woken once in a while, and for a client command; client/unix-link.ts
// is dial.ts for the local master's socket). Frames are a 4-byte big-endian
// length then the body. A bad frame or a socket error closes that link with a
// reason and never throws into the process. No encryption and no message
// decoding here: secure.ts and rpc.ts sit on top.

import net from "node:net";
import { chmod, lstat, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { limits, timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { FrameDecoder, frameHeader, framedLength } from "./frame.ts";
import { deliverChunk, type FrameLink } from "./link.ts";
import { dial } from "./dial.ts";

export interface SocketLink extends FrameLink {
  /** Largest frame accepted from the peer from now on (small during the handshake). */
  setMaxFrame(n: number): void;
  /** The peer's address without the port ("127.0.0.1", "unix"), for per-address limits. */
  readonly remoteAddress: string;
  /** Send several buffers as one frame without joining them (header + parts, one writev). */
  sendParts(parts: Uint8Array[]): void;
  /** Resolves once queued bytes have drained below the socket's high-water mark (or the link closed). */
  drained(): Promise<void>;
}

class TcpLink implements SocketLink {
  private readonly decoder = new FrameDecoder(limits.maxFrame);
  private frameHandler: ((frame: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private closedWith: string | undefined;
  private closeReported = false;
  private drainWaiters: Array<() => void> = [];
  heardAt = performance.now();

  constructor(
    private readonly socket: net.Socket,
    readonly peer: string,
    readonly remoteAddress: string,
  ) {
    socket.setNoDelay(true);
    socket.on("error", (err) => this.shut(`socket error: ${err.message}`, false));
    socket.on("close", () => this.shut("connection closed by peer", false));
    socket.on("drain", () => this.wake());
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
    const s = this.socket;
    // cork/uncork: the header and the parts leave in one writev, the parts uncopied.
    s.cork();
    s.write(frameHeader(length));
    for (const p of parts) s.write(p);
    s.uncork();
    if (s.writableLength > limits.maxSendBuffer)
      this.shut(`peer is not reading (${s.writableLength} bytes queued)`, false);
  }

  /** Corked: every frame sent inside `fn` leaves in one writev (each write wakes the peer, ~30-100 us here). */
  batch<T>(fn: () => T): T {
    const s = this.socket;
    s.cork();
    try {
      return fn();
    } finally {
      s.uncork();
    }
  }

  drained(): Promise<void> {
    const s = this.socket;
    if (this.closedWith !== undefined || s.writableLength < s.writableHighWaterMark)
      return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(reason = "closed"): void {
    this.shut(reason, true);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    const first = !this.frameHandler;
    this.frameHandler = handler;
    // Reading starts only now: bytes wait in the socket until someone can take them.
    if (first) this.socket.on("data", (chunk: Uint8Array) => this.receive(chunk));
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closedWith !== undefined) this.report();
  }

  private receive(chunk: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    this.heardAt = performance.now();
    const why = deliverChunk(
      this.decoder,
      chunk,
      this.frameHandler,
      () => this.closedWith === undefined,
      this.peer,
    );
    if (why) this.shut(why, false);
  }

  /** graceful: flush what was sent (end), then destroy; else destroy now. Either way the fd is released. */
  private shut(reason: string, graceful: boolean): void {
    const s = this.socket;
    if (this.closedWith === undefined) {
      this.closedWith = reason;
      this.wake();
      this.report();
    }
    if (s.destroyed) return;
    if (!graceful) return void s.destroy();
    const timer = setTimeout(() => s.destroy(), timing.closeLingerMs);
    s.end(() => {
      clearTimeout(timer);
      s.destroy();
    });
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

/** "::ffff:10.0.0.1" is an IPv4 peer: show and count it as one. */
function plainAddress(addr: string | undefined): string {
  if (!addr) return "unknown";
  return addr.startsWith("::ffff:") && addr.includes(".") ? addr.slice(7) : addr;
}

function tcpLink(socket: net.Socket): TcpLink {
  const addr = plainAddress(socket.remoteAddress);
  const peer = addr.includes(":")
    ? `[${addr}]:${socket.remotePort}`
    : `${addr}:${socket.remotePort}`;
  return new TcpLink(socket, peer, addr);
}

type Listening = { server: net.Server; close(): Promise<void> };

/** Start a server; every accepted socket becomes a link. close() stops listening and drops open links. */
function serve(
  target: net.ListenOptions,
  what: string,
  makeLink: (s: net.Socket) => TcpLink,
  onLink: (link: SocketLink) => void,
): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    try {
      onLink(makeLink(socket));
    } catch (err) {
      log("wire.accept_error", { listen: what, error: errorMessage(err) });
      socket.destroy();
    }
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  return new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(new SaltyError(`cannot listen on ${what}: ${err.message}`, "E_LISTEN")),
    );
    server.listen(target, () => {
      server.removeAllListeners("error");
      server.on("error", (err) => log("wire.server_error", { listen: what, error: err.message }));
      resolve({ server, close });
    });
  });
}

/** Listen on host:port (port 0: any free port, read it back from the result). */
export async function listenTcp(
  host: string,
  port: number,
  onLink: (link: SocketLink) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const what = `${host}:${port}`;
  const { server, close } = await serve({ host, port, backlog: 1024 }, what, tcpLink, onLink);
  return { port: (server.address() as net.AddressInfo).port, close };
}

/** The descriptor of an accepted socket (Bun keeps it on the handle), for the peer's credentials; undefined where it is not exposed. */
function socketFd(s: net.Socket): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" ? fd : undefined;
}

export interface UnixListenOptions {
  /** Decides on each connection from its descriptor: a reason refuses it (logged, closed before anything is read). */
  admit?: (fd: number | undefined) => string | undefined;
}

/**
 * Listen on a Unix socket, mode 0600. The socket is made in a fresh 0700
 * directory beside `path`, given its mode there and only then renamed into
 * place, so that no one can connect during the moment between bind and
 * chmod whatever the mode of the directory. A stale socket file is removed
 * first; a live one is an error.
 */
export async function listenUnix(
  path: string,
  onLink: (link: SocketLink) => void,
  opts: UnixListenOptions = {},
): Promise<{ close(): Promise<void> }> {
  await removeStaleSocket(path);
  const makeLink = (s: net.Socket) => {
    const refused = opts.admit?.(socketFd(s));
    if (refused) throw new SaltyError(refused, "E_DENIED");
    return new TcpLink(s, `unix:${path}`, "unix");
  };
  const nest = await mkdtemp(join(dirname(path), ".sock-")); // mode 0700
  const fresh = join(nest, "s");
  try {
    const { close } = await serve({ path: fresh }, path, makeLink, onLink);
    await chmod(fresh, 0o600);
    await rename(fresh, path);
    return {
      close: async () => {
        await close();
        await unlink(path).catch(() => {});
      },
    };
  } finally {
    await rm(nest, { recursive: true, force: true });
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket())
    throw new SaltyError(`cannot listen on ${path}: it exists and is not a socket`, "E_LISTEN");
  const live = await connectUnix(path).then(
    (link) => (link.close("probe"), true),
    () => false,
  );
  if (live)
    throw new SaltyError(
      `cannot listen on ${path}: another process is listening there`,
      "E_LISTEN",
    );
  await unlink(path);
}

/** `localAddress`: the source address to connect from (the bench's simulated fleets; default: the system's choice). */
export function connectTcp(
  host: string,
  port: number,
  opts: { timeoutMs?: number; localAddress?: string } = {},
): Promise<SocketLink> {
  const what = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return dial({
    host,
    port,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    what,
    peer: what,
    timeoutMs: opts.timeoutMs ?? timing.connectTimeoutMs,
  });
}

export function connectUnix(path: string): Promise<SocketLink> {
  return dial({ path, what: path, peer: `unix:${path}`, timeoutMs: timing.connectTimeoutMs });
}
