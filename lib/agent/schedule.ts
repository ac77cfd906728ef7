// When an agent asks for its scheduled apply (`salty agent --apply-every
// PERIOD --splay SPLAY`): at a fixed offset within the splay, the same for a
// host whatever the moment it started (a hash of its id), on a grid of the
// period counted from the epoch, so a restarted agent keeps its slot and a
// fleet is spread over the splay instead of asking in the same second.
// splayOffset and nextRun are pure; askPeriodically owns the timer.

import { hashBytes } from "../sys/hash.ts";

export interface Schedule {
  everyMs: number;
  /** Within [0, splay): from splayOffset. */
  offsetMs: number;
  onlyIfChanged: boolean;
  /** Several masters' sessions share one schedule: only the first to claim a slot asks (lib/agent/reconnect.ts). */
  claim?: (slot: number) => boolean;
}

/** A schedule's claim shared by several sessions (one per master): the first to claim a slot asks, the others let it go. */
export function onePerSlot(): (slot: number) => boolean {
  let last = -Infinity;
  return (slot) => (slot > last ? ((last = slot), true) : false);
}

/** The host's offset within the splay: the first 48 bits of SHA-256(id), modulo the splay. */
export function splayOffset(id: string, splayMs: number): number {
  if (splayMs <= 0) return 0;
  return parseInt(hashBytes(id).slice(0, 12), 16) % Math.floor(splayMs);
}

/** The first moment after `now` on the grid every·k + offset. */
export function nextRun(now: number, everyMs: number, offsetMs: number): number {
  return Math.floor((now - offsetMs) / everyMs) * everyMs + everyMs + offsetMs;
}

/**
 * Ask at each slot until stopped; a slot that comes while the previous request
 * is still out is let go (the master would refuse it anyway). Returns the stop.
 */
export function askPeriodically(schedule: Schedule, ask: () => Promise<void>): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let busy = false;
  let stopped = false;
  let slot = 0;
  const arm = () => {
    if (stopped) return;
    const now = Date.now();
    slot = nextRun(now, schedule.everyMs, schedule.offsetMs);
    timer = setTimeout(fire, slot - now);
  };
  const fire = () => {
    const mine = slot;
    arm();
    if (busy || (schedule.claim && !schedule.claim(mine))) return;
    busy = true;
    void ask().finally(() => (busy = false));
  };
  arm();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
