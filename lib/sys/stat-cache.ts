// What is known of a file by its stat identity (device, inode, size, mtime,
// ctime): its hash (the agent's destinations, the master's sources) or its
// decrypted content (the master's .enc files). A file whose identity is
// unchanged is not read again, unless it changed within timing.statRacyMs of
// when the value was taken: a write within the same timestamp tick can leave
// size and times as they were, so such a value is not trusted yet.

import type { BigIntStats } from "node:fs";
import { timing } from "../constants.ts";

export interface StatIdentity {
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

interface Entry<T> extends StatIdentity {
  value: T;
  /** Wall clock (ns) when the value was taken. */
  seenNs: bigint;
}

export function identityOf(st: BigIntStats): StatIdentity {
  return {
    dev: st.dev,
    ino: st.ino,
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** True when `e` still describes the file: same identity, and not changed within the racy window of when it was taken. */
export function stillValid(e: Entry<unknown>, st: StatIdentity): boolean {
  const same =
    e.dev === st.dev &&
    e.ino === st.ino &&
    e.size === st.size &&
    e.mtimeNs === st.mtimeNs &&
    e.ctimeNs === st.ctimeNs;
  return same && e.seenNs - st.ctimeNs > BigInt(timing.statRacyMs) * 1_000_000n;
}

export class StatCache<T> {
  /** `entries` may be bounded (operators/cache.ts BoundedMap); a plain Map by default. */
  constructor(private readonly entries: Map<string, Entry<T>> = new Map()) {}

  /** The value for `path` while `st` is still the identity it was taken at; else undefined. */
  get(path: string, st: StatIdentity): T | undefined {
    const e = this.entries.get(path);
    return e && stillValid(e, st) ? e.value : undefined;
  }

  set(path: string, st: StatIdentity, value: T): void {
    this.entries.set(path, {
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      value,
      seenNs: nowNs(),
    });
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  delete(path: string): void {
    this.entries.delete(path);
  }

  get size(): number {
    return this.entries.size;
  }
}
