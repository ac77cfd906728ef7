// The connections we dial (an agent to its master, a client to the master's
// socket), on Bun's own socket: socket-link.ts is the link, the same as for
// the sockets the master accepts (tcp.ts). tcp.ts's connectTcp/connectUnix and
// client/unix-link.ts call it; it loads nothing but Bun's socket (a client
// command's start-up).

import type { TCPSocketConnectOptions } from "bun";
import { SaltyError, errorMessage } from "../errors.ts";
import { BunSocketLink, linkEvents, type LinkSocket, type SocketLink } from "./socket-link.ts";

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

/** Connect; the link once connected, or SaltyError E_CONNECT naming `what` (E_CONN_LOST: reset as it opened). */
export function dial(o: DialOptions): Promise<SocketLink> {
  const link = new BunSocketLink(o.peer);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string, err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Reset as it opened: the peer is there and closed the connection at once (it refuses us), not absent.
      const reset = (err as { code?: unknown } | undefined)?.code === "ECONNRESET";
      reject(
        new SaltyError(`cannot connect to ${o.what}: ${why}`, reset ? "E_CONN_LOST" : "E_CONNECT"),
      );
    };
    const timer = setTimeout(() => fail(`no answer within ${o.timeoutMs / 1000}s`), o.timeoutMs);
    // Until open, the socket has no link (linkEvents pass it by): a failure is connectError's.
    const handlers = {
      ...linkEvents,
      open(s: LinkSocket) {
        if (settled) return void s.terminate(); // too late: the caller has given up
        settled = true;
        clearTimeout(timer);
        link.attach(s, o.path === undefined);
        resolve(link);
      },
      error: (s: LinkSocket, err: Error) => (s.data ? linkEvents.error(s, err) : fail(err.message)),
      connectError: (_s: LinkSocket, err: Error) => fail(reason(err), err),
    };
    const started =
      o.path !== undefined
        ? Bun.connect({ unix: o.path, data: undefined, socket: handlers })
        : Bun.connect({
            hostname: o.host!,
            port: o.port!,
            ...(o.localAddress ? { localAddress: o.localAddress } : {}),
            data: undefined,
            socket: handlers,
          } as TCPSocketConnectOptions<BunSocketLink | undefined>);
    started.catch((err: unknown) => fail(reason(err), err));
  });

  /** As node:net words it ("connect ECONNREFUSED 127.0.0.1:11111", "connect ENOENT /x/master.sock"). */
  function reason(err: unknown): string {
    const e = err as { code?: unknown; syscall?: unknown };
    if (typeof e?.code !== "string") return errorMessage(err);
    const where = o.path ?? `${o.host}:${o.port}`;
    return `${typeof e.syscall === "string" ? e.syscall : "connect"} ${e.code} ${where}`;
  }
}
