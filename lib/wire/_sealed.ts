// Sealed frames after the handshake: native AES-256-GCM (node:crypto), one key
// per direction, and an implicit 64-bit counter as the nonce. The counter is
// never sent: a replayed, reordered, dropped, truncated or altered frame fails
// authentication and closes the connection. Plaintext is handed on only after
// its tag verified. Knows nothing of handshakes or message formats.

import { createCipheriv, createDecipheriv } from "node:crypto";
import { limits } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { FrameLink } from "./link.ts";
import type { SocketLink } from "./tcp.ts";

const TAG = 16;

/** What a sealed link may sit on: any FrameLink; socket extras are used when present. */
export type RawLink = FrameLink &
  Partial<Pick<SocketLink, "setMaxFrame" | "sendParts" | "drained">>;

function nonce(counter: number): Uint8Array {
  const iv = new Uint8Array(12);
  const view = new DataView(iv.buffer);
  view.setUint32(4, Math.floor(counter / 2 ** 32));
  view.setUint32(8, counter >>> 0);
  return iv;
}

export class SealedLink implements FrameLink {
  private sent = 0;
  private received = 0;
  private handler: ((frame: Uint8Array) => void) | undefined;
  private first: ((frame: Uint8Array) => void) | undefined;
  private queue: Uint8Array[] = [];
  private closeHandler: ((reason: string) => void) | undefined;
  private closedWith: string | undefined;

  constructor(
    private readonly inner: RawLink,
    private readonly sendKey: Uint8Array,
    private readonly receiveKey: Uint8Array,
  ) {}

  get peer(): string {
    return this.inner.peer;
  }

  get heardAt(): number | undefined {
    return this.inner.heardAt;
  }

  /** Seal and send one frame. A plaintext the peer could not accept is refused here, loudly. */
  send(plain: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    if (plain.length + TAG > limits.maxFrame)
      throw new SaltyError(
        `message of ${plain.length} bytes exceeds the frame limit of ${limits.maxFrame}`,
        "E_FRAME_SIZE",
      );
    if (this.sent >= Number.MAX_SAFE_INTEGER) return this.close("nonce counter exhausted");
    const cipher = createCipheriv("aes-256-gcm", this.sendKey, nonce(this.sent++));
    const body = cipher.update(plain);
    cipher.final();
    const tag = cipher.getAuthTag();
    if (this.inner.sendParts) this.inner.sendParts([body, tag]);
    else this.inner.send(Buffer.concat([body, tag]));
  }

  close(reason = "closed"): void {
    this.inner.close(reason);
  }

  /** Frames sealed inside `fn` leave together where the transport can (FrameLink.batch); nonces stay in send order. */
  batch<T>(fn: () => T): T {
    return this.inner.batch ? this.inner.batch(fn) : fn();
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.handler = handler;
    for (const f of this.queue.splice(0))
      if (this.closedWith === undefined) this.deliver(handler, f);
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
    if (this.closedWith !== undefined) queueMicrotask(() => handler(this.closedWith!));
  }

  /** Resolves when the transport's send buffer has drained (at once on links without one). */
  drained(): Promise<void> {
    return this.inner.drained?.() ?? Promise.resolve();
  }

  /** The next frame goes to `cb` instead of the handler (the handshake's decision). */
  takeFirst(cb: (frame: Uint8Array) => void): void {
    this.first = cb;
  }

  /** A frame from the transport, in order. */
  receive(frame: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    let plain: Uint8Array;
    try {
      plain = this.open(frame);
    } catch (err) {
      log("secure.frame_rejected", {
        peer: this.peer,
        frame: this.received,
        error: errorMessage(err),
      });
      return this.inner.close(
        "authentication failed: frame tampered, replayed, reordered or truncated",
      );
    }
    const first = this.first;
    this.first = undefined;
    if (first) first(plain);
    else if (this.handler) this.deliver(this.handler, plain);
    else this.queue.push(plain);
  }

  /** The transport closed. */
  closed(reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.closeHandler?.(reason);
  }

  private open(frame: Uint8Array): Uint8Array {
    if (frame.length < TAG)
      throw new SaltyError(`frame of ${frame.length} bytes is shorter than a tag`, "E_AUTH");
    const decipher = createDecipheriv("aes-256-gcm", this.receiveKey, nonce(this.received), {
      authTagLength: TAG,
    });
    decipher.setAuthTag(frame.subarray(frame.length - TAG));
    const plain = decipher.update(frame.subarray(0, frame.length - TAG));
    decipher.final(); // throws when the tag does not verify: plain is then dropped unread
    this.received++;
    return plain;
  }

  private deliver(handler: (frame: Uint8Array) => void, plain: Uint8Array): void {
    try {
      handler(plain);
    } catch (err) {
      // Over an in-memory link a throw would escape into a microtask: contain it here.
      log("wire.handler_error", { peer: this.peer, error: errorMessage(err) });
      this.inner.close(`internal error: ${errorMessage(err)}`);
    }
  }
}
