// Listening and connecting: the master's TCP port and its control socket
// (Unix), and connectTcp/connectUnix over dial.ts. Every socket, accepted or
// dialled, is Bun's own and becomes a socket-link.ts link (frames, limits,
// the send queue, a graceful close); node:net's streams cost the master ~30 %
// of its main thread at 200 agents. A socket error or a bad frame closes that
// link with a reason and never throws into the process.

import type { SocketListener, TCPSocketListener } from "bun";
import { chmod, lstat, mkdtemp, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { dial } from "./dial.ts";
import {
  BunSocketLink,
  linkEvents,
  plainAddress,
  type LinkSocket,
  type SocketLink,
} from "./socket-link.ts";

export type { SocketLink } from "./socket-link.ts";

/** The listener's socket events: each accepted socket becomes a link (`makeLink`: a throw refuses it, logged, closed before anything is read), then linkEvents carry it. */
function accepting(
  what: string,
  makeLink: (s: LinkSocket) => BunSocketLink,
  onLink: (link: SocketLink) => void,
) {
  return {
    ...linkEvents,
    open(s: LinkSocket) {
      try {
        onLink(makeLink(s));
      } catch (err) {
        log("wire.accept_error", { listen: what, error: errorMessage(err) });
        s.end(); // closed at once, with a FIN as node:net's destroy() did
      }
    },
  };
}

/** Bun.listen's error as node:net words it ("listen EADDRINUSE"), else its message. */
function listenError(what: string, err: unknown): SaltyError {
  const code = (err as { code?: unknown })?.code;
  const why = typeof code === "string" ? `listen ${code}` : errorMessage(err);
  return new SaltyError(`cannot listen on ${what}: ${why}`, "E_LISTEN");
}

type Listener = SocketListener<BunSocketLink | undefined>;

/** Stops listening and drops every open connection (each link closes with "connection closed by peer"). */
const stopping = (server: Listener) => async () => server.stop(true);

/** Listen on host:port (port 0: any free port, read it back from the result). IPv6 hosts bare ("::1"). */
export async function listenTcp(
  host: string,
  port: number,
  onLink: (link: SocketLink) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const what = `${host}:${port}`;
  const makeLink = (s: LinkSocket) => {
    const addr = plainAddress(s.remoteAddress);
    const link = new BunSocketLink(
      addr.includes(":") ? `[${addr}]:${s.remotePort}` : `${addr}:${s.remotePort}`,
    );
    link.attach(s, true);
    return link;
  };
  let server: TCPSocketListener<BunSocketLink | undefined>;
  try {
    server = Bun.listen<BunSocketLink | undefined>({
      hostname: host,
      port,
      exclusive: true,
      data: undefined,
      socket: accepting(what, makeLink, onLink),
    });
  } catch (err) {
    throw listenError(what, err);
  }
  return { port: server.port, close: stopping(server) };
}

/** The descriptor of an accepted socket (Bun has it, its types do not), for the peer's credentials; undefined where it is not exposed. */
function socketFd(s: LinkSocket): number | undefined {
  const fd = (s as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
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
  const makeLink = (s: LinkSocket) => {
    const refused = opts.admit?.(socketFd(s));
    if (refused) throw new SaltyError(refused, "E_DENIED");
    const link = new BunSocketLink(`unix:${path}`);
    link.attach(s, false);
    return link;
  };
  const nest = await mkdtemp(join(dirname(path), ".sock-")); // mode 0700
  const fresh = join(nest, "s");
  try {
    let server: Listener;
    try {
      server = Bun.listen<BunSocketLink | undefined>({
        unix: fresh,
        data: undefined,
        socket: accepting(path, makeLink, onLink),
      });
    } catch (err) {
      throw listenError(path, err);
    }
    const close = stopping(server);
    try {
      await chmod(fresh, 0o600);
      await rename(fresh, path);
    } catch (err) {
      await close();
      throw err;
    }
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
