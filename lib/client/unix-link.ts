// The client's link to the local master's Unix socket: wire/dial.ts, Bun's own
// socket (Bun.connect) rather than node:net: a client command lives for one
// request, and node:net with Node's stream machinery cost it about as much CPU
// to load, connect and read through as decoding the apply report
// (docs/performance.md). Imported instead of wire/tcp.ts, which loads the
// master's listening code (node:fs/promises) too.

import { timing } from "../constants.ts";
import { dial } from "../wire/dial.ts";
import type { FrameLink } from "../wire/link.ts";

/** Connect to the Unix socket at `path`; rejects with E_CONNECT (the text wire/tcp.ts's connectUnix gives). */
export function connectUnixLink(path: string): Promise<FrameLink> {
  return dial({ path, what: path, peer: `unix:${path}`, timeoutMs: timing.connectTimeoutMs });
}
