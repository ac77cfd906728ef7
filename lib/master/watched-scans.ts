// The master's syncdir sources, scanned once and then watched (inotify, through
// fs.watch): while nothing below a source changes, its scan and digest come
// from memory and no entry is lstat'ed again. Any event below it, an error of
// its watcher, an age over timing.scanCacheMs, or a filesystem not known to
// report every change (NFS, FUSE...) means a fresh scan. Linux only; it never
// answers from a scan whose watcher was not in place before the scan began.

import { statfsSync, watch, type FSWatcher } from "node:fs";
import { timing } from "../constants.ts";
import { hashBytes } from "../sys/hash.ts";
import { encode } from "../wire/codec.ts";
import type { TreeEntry } from "../operators/file-source.ts";

export interface Scan {
  entries: TreeEntry[];
  digest: string;
}

interface Cached extends Scan {
  at: number;
  dirty: boolean;
  watcher: FSWatcher;
}

/** ext4, xfs, btrfs, tmpfs, zfs, overlayfs, f2fs, ramfs: local filesystems whose changes inotify sees. */
const LOCAL = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0x794c7630, 0xf2f52010, 0x858458f6]);

export function localFilesystem(real: string): boolean {
  if (process.platform !== "linux") return false;
  try {
    return LOCAL.has(Number(statfsSync(real).type));
  } catch {
    return false;
  }
}

export class WatchedScans {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly scan: (real: string) => TreeEntry[],
    private readonly opts: { max?: number; canWatch?: (real: string) => boolean } = {},
  ) {}

  /** The scan of `real` (an absolute, resolved directory) and its digest. */
  async get(real: string): Promise<Scan> {
    await new Promise((resolve) => setImmediate(resolve)); // events already queued are seen first
    const hit = this.cache.get(real);
    if (hit && !hit.dirty && performance.now() - hit.at < timing.scanCacheMs) return hit;
    this.drop(real);
    const entry: Cached = { entries: [], digest: "", at: performance.now(), dirty: false, watcher: undefined as unknown as FSWatcher };
    const watcher = (this.opts.canWatch ?? localFilesystem)(real) ? this.watch(real, entry) : undefined;
    entry.entries = this.scan(real);
    entry.digest = hashBytes(encode(entry.entries));
    if (watcher) {
      entry.watcher = watcher;
      this.cache.set(real, entry);
      this.evict();
    }
    return { entries: entry.entries, digest: entry.digest };
  }

  close(): void {
    for (const real of [...this.cache.keys()]) this.drop(real);
  }

  /** A watcher that marks `entry` dirty on anything; undefined when one cannot be had (limits, permissions). */
  private watch(real: string, entry: Cached): FSWatcher | undefined {
    try {
      const w = watch(real, { recursive: true, persistent: false }, () => {
        entry.dirty = true;
      });
      w.on("error", () => {
        entry.dirty = true;
        this.drop(real);
      });
      return w;
    } catch {
      return undefined;
    }
  }

  private drop(real: string): void {
    const hit = this.cache.get(real);
    if (!hit) return;
    this.cache.delete(real);
    hit.watcher.close();
  }

  private evict(): void {
    const max = this.opts.max ?? 64;
    for (const real of this.cache.keys()) {
      if (this.cache.size <= max) return;
      this.drop(real);
    }
  }
}
