// Framing: a 4-byte big-endian length, then the body. Pure: no I/O.
// The decoder refuses a frame announcing more than its limit before buffering
// it, so a peer cannot make us allocate by lying about a length.

import { limits } from "../constants.ts";
import { ProtocolError, SaltyError } from "../errors.ts";

export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** The 4-byte header alone, so large bodies can be written without a copy. */
export function frameHeader(length: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, length);
  return h;
}

/**
 * The length of a frame made of `parts`; one past the frame limit is refused
 * here, loudly, rather than sent for the peer to refuse and drop the connection.
 */
export function framedLength(parts: Uint8Array[]): number {
  let length = 0;
  for (const p of parts) length += p.length;
  if (length > limits.maxFrame)
    throw new SaltyError(
      `message of ${length} bytes exceeds the frame limit of ${limits.maxFrame}`,
      "E_FRAME_SIZE",
    );
  return length;
}

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private need = -1; // body length of the frame being read, -1 while reading the header

  constructor(public maxFrame: number) {}

  /** Feed bytes; returns every frame completed by them. Throws ProtocolError on an oversized frame. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const header = this.take(4);
        const len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
        if (len > this.maxFrame)
          throw new ProtocolError(
            `frame of ${len} bytes exceeds the limit of ${this.maxFrame}`,
            "E_FRAME_SIZE",
          );
        this.need = len;
      }
      if (this.buffered < this.need) break;
      frames.push(this.take(this.need));
      this.need = -1;
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      // Fast path: the bytes sit in one chunk, slice without copying.
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }
}
