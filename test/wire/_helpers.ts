// Test helpers for links: await frames and closes one at a time.

import type { FrameLink } from "../../lib/wire/link.ts";

export interface Collector {
  next(): Promise<Uint8Array>;
  closed: Promise<string>;
  isClosed(): boolean;
}

/** Take over a link's handlers; frames queue until next() takes them. */
export function collect(link: FrameLink): Collector {
  const frames: Uint8Array[] = [];
  const waiters: Array<{ resolve: (f: Uint8Array) => void; reject: (e: Error) => void }> = [];
  let closedWith: string | undefined;
  let onClosed!: (r: string) => void;
  const closed = new Promise<string>((r) => (onClosed = r));
  link.onFrame((f) => {
    const w = waiters.shift();
    if (w) w.resolve(f);
    else frames.push(f);
  });
  link.onClose((reason) => {
    closedWith = reason;
    onClosed(reason);
    for (const w of waiters.splice(0)) w.reject(new Error(`closed: ${reason}`));
  });
  return {
    next: () => {
      const f = frames.shift();
      if (f) return Promise.resolve(f);
      if (closedWith !== undefined) return Promise.reject(new Error(`closed: ${closedWith}`));
      return new Promise<Uint8Array>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    closed,
    isClosed: () => closedWith !== undefined,
  };
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Resolve when `cond` holds, polling; reject after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
