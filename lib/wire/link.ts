// The transport seam: a FrameLink carries whole frames between two peers.
// socket-link.ts (sockets), memory.ts (in-process pairs) and secure.ts (encryption on
// top of another link) implement it; rpc.ts only ever sees this interface.

import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { FrameDecoder } from "./frame.ts";

export interface FrameLink {
  /** Queue one frame for the peer. Sending on a closed link is ignored. */
  send(frame: Uint8Array): void;
  /** Close the link; the close handler runs once with the reason. */
  close(reason?: string): void;
  /** Receive frames in order. Set once, before frames arrive. */
  onFrame(handler: (frame: Uint8Array) => void): void;
  /** Called once when the link is gone, whoever closed it. */
  onClose(handler: (reason: string) => void): void;
  /** Who is at the other end, for logs (e.g. "127.0.0.1:50122"). */
  readonly peer: string;
  /**
   * performance.now() of the last bytes from the peer, a frame's first bytes
   * included (links over a socket): a peer in the middle of sending a large
   * frame is alive, though no whole frame has arrived yet.
   */
  readonly heardAt?: number;
  /** Frames sent inside `fn` may leave in one write (a socket's); without it each leaves as sent. */
  batch?<T>(fn: () => T): T;
}

/**
 * A socket link's bytes: the whole frames in `chunk` handed to `handler` in
 * order while `open()` says so. Returns why the link must close (bytes that
 * are no frame, a handler that threw), or undefined.
 */
export function deliverChunk(
  decoder: FrameDecoder,
  chunk: Uint8Array,
  handler: ((frame: Uint8Array) => void) | undefined,
  open: () => boolean,
  peer: string,
): string | undefined {
  let frames: Uint8Array[];
  try {
    frames = decoder.push(chunk);
  } catch (err) {
    return `protocol error: ${errorMessage(err)}`;
  }
  for (const f of frames) {
    if (!open()) return undefined;
    try {
      handler?.(f);
    } catch (err) {
      // A throwing handler must not become an uncaught exception of the process.
      log("wire.handler_error", { peer, error: errorMessage(err) });
      return `internal error: ${errorMessage(err)}`;
    }
  }
  return undefined;
}
