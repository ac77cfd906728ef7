// An in-memory FrameLink pair: for tests, and for bootstrap (master and agent
// in one process). Frames are delivered asynchronously, in order, like a socket.

import type { FrameLink } from "./link.ts";

class MemoryLink implements FrameLink {
  other!: MemoryLink;
  private frameHandler: ((f: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private queue: Uint8Array[] = [];
  private scheduled = false;
  closedWith: string | undefined;

  constructor(readonly peer: string) {}

  send(frame: Uint8Array): void {
    if (this.closedWith !== undefined) return;
    this.other.deliver(frame);
  }

  close(reason = "closed"): void {
    if (this.closedWith !== undefined) return;
    this.finish(reason);
    this.other.finish(reason);
  }

  onFrame(handler: (f: Uint8Array) => void): void {
    this.frameHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
  }

  private deliver(frame: Uint8Array): void {
    this.queue.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const f of this.queue.splice(0)) {
        if (this.closedWith !== undefined) return;
        this.frameHandler?.(f);
      }
    });
  }

  private finish(reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    queueMicrotask(() => this.closeHandler?.(reason));
  }
}

/** Two connected links: what one sends, the other receives. */
export function memoryPair(
  names: [string, string] = ["memory-a", "memory-b"],
): [FrameLink, FrameLink] {
  const a = new MemoryLink(names[1]);
  const b = new MemoryLink(names[0]);
  a.other = b;
  b.other = a;
  return [a, b];
}
