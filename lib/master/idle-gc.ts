// The master collects its garbage once it has been idle a while after a job.
// An apply to 1,000 of 10,000 hosts leaves ~150 MB that JavaScriptCore
// collects only when the heap grows again, so the master's RSS stayed where
// the last job left it (383 MB 8 s after, against 248 MB with this, docs/performance.md,
// "Eighth session"). A full collection while nothing runs costs nobody
// anything; the allocator hands the pages back a second later
// (lib/runtime-env.ts). Each job's end pushes the collection back.

import { timing } from "../constants.ts";
import { log } from "../log.ts";

let timer: ReturnType<typeof setTimeout> | undefined;

/** A job ended: collect `delayMs` after the last one ends. */
export function jobEnded(
  collect: () => void = () => Bun.gc(true),
  delayMs: number = timing.idleGcMs,
): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    const t0 = performance.now();
    collect();
    log("master.idle_gc", { ms: Math.round(performance.now() - t0) }, "debug");
  }, delayMs);
  timer.unref?.();
}
