// The real Observe port: lstat/stat, read, hash with the stat cache, and the
// tree walk, for operators. Synchronous syscalls inside: an lstat costs far less
// that way than through fs.promises (docs/performance.md). It never writes to the disk.

import { lstatSync, readFileSync, readlinkSync, statSync, type BigIntStats } from "node:fs";
import { hashBytes, hashFile } from "./hash.ts";
import type { StatCache } from "./stat-cache.ts";
import type { Observe, Stat, TreeItem } from "./types.ts";
import { isMissing, walkTree } from "./walk.ts";

/** Files up to this size are hashed from one read; larger ones are streamed. */
const READ_WHOLE = 1024 * 1024;

export function toStat(st: BigIntStats): Stat {
  const type = st.isFile()
    ? "file"
    : st.isDirectory()
      ? "dir"
      : st.isSymbolicLink()
        ? "symlink"
        : "other";
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

/**
 * Observe the real disk, remembering hashes in `stats` (owned by the agent,
 * kept across applies); `walk` may answer from watched trees (the agent's).
 */
export function createObserve(
  hashes: StatCache<string>,
  walk: (dir: string) => Promise<TreeItem[]> = async (dir) => walkTree(dir),
): Observe {
  return {
    lstat: async (path) =>
      statOrUndefined(() => lstatSync(path, { bigint: true, throwIfNoEntry: false })),
    stat: async (path) =>
      statOrUndefined(() => statSync(path, { bigint: true, throwIfNoEntry: false })),
    readlink: async (path) => readlinkSync(path),
    read: async (path) => new Uint8Array(readFileSync(path)),
    async hash(path, st) {
      const hit = hashes.get(path, st);
      if (hit !== undefined) return hit;
      const hash = st.size <= READ_WHOLE ? hashBytes(readFileSync(path)) : await hashFile(path);
      hashes.set(path, st, hash);
      return hash;
    },
    async remember(path, hash) {
      const st = statOrUndefined(() => lstatSync(path, { bigint: true, throwIfNoEntry: false }));
      if (st?.type === "file") hashes.set(path, st, hash);
      else hashes.delete(path);
    },
    walk,
  };
}
