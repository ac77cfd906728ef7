// The real Observe port: lstat/stat, read, hash with the stat cache, and the
// tree walk, for operators. Synchronous syscalls inside: an lstat costs far less
// that way than through fs.promises (docs/performance.md). It never writes to the disk.

import { lstatSync, readFileSync, readlinkSync, statSync, type BigIntStats } from "node:fs";
import { timing } from "../constants.ts";
import { hashBytes, hashFile } from "./hash.ts";
import type { Observe, Stat, StatEntry, TreeItem } from "./types.ts";
import { isMissing, walkTree } from "./walk.ts";

/** Files up to this size are hashed from one read; larger ones are streamed. */
const READ_WHOLE = 1024 * 1024;

export function toStat(st: BigIntStats): Stat {
  const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
  return {
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    dev: st.dev,
    ino: st.ino,
  };
}

function statOrUndefined(fn: () => BigIntStats | undefined): Stat | undefined {
  try {
    const st = fn();
    return st ? toStat(st) : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** True when the cached hash still describes the file: same identity, and not changed within the racy window. */
export function cacheHit(e: StatEntry | undefined, st: Stat): e is StatEntry {
  if (!e) return false;
  const same = e.dev === st.dev && e.ino === st.ino && e.size === st.size && e.mtimeNs === st.mtimeNs && e.ctimeNs === st.ctimeNs;
  return same && e.seenNs - st.ctimeNs > BigInt(timing.statRacyMs) * 1_000_000n;
}

function entry(st: Stat, hash: string): StatEntry {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, hash, seenNs: nowNs() };
}

/**
 * Observe the real disk, remembering hashes in `stats` (owned by the agent,
 * kept across applies); `walk` may answer from watched trees (the agent's).
 */
export function createObserve(stats: Map<string, StatEntry>, walk: (dir: string) => Promise<TreeItem[]> = async (dir) => walkTree(dir)): Observe {
  return {
    lstat: async (path) => statOrUndefined(() => lstatSync(path, { bigint: true, throwIfNoEntry: false })),
    stat: async (path) => statOrUndefined(() => statSync(path, { bigint: true, throwIfNoEntry: false })),
    readlink: async (path) => readlinkSync(path),
    read: async (path) => new Uint8Array(readFileSync(path)),
    async hash(path, st) {
      const hit = stats.get(path);
      if (cacheHit(hit, st)) return hit.hash;
      const hash = st.size <= READ_WHOLE ? hashBytes(readFileSync(path)) : await hashFile(path);
      stats.set(path, entry(st, hash));
      return hash;
    },
    async remember(path, hash) {
      const st = statOrUndefined(() => lstatSync(path, { bigint: true, throwIfNoEntry: false }));
      if (st?.type === "file") stats.set(path, entry(st, hash));
      else stats.delete(path);
    },
    walk,
  };
}
