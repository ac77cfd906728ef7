// Directory trees read once and then watched (inotify, through fs.watch):
// while nothing below a tree changes, what was read of it comes from memory
// and no entry is lstat'ed again. The master keeps its syncdir sources this
// way, the agent its syncdir destinations. Any event below a tree, an error
// of its watcher, an age over timing.scanCacheMs, forget() (the agent calls
// it for each path it writes, and for all trees after each command it runs,
// because inotify delivers events a millisecond or two late), or a filesystem not known to
// report every change (NFS, FUSE...) means a fresh read. Linux only; it never
// answers from a read whose watcher was not in place before the read began.

import { realpathSync, statSync, statfsSync, watch, type FSWatcher } from "node:fs";
import { posix } from "node:path";
import { timing } from "../constants.ts";

interface Cached<T> {
  value: T;
  at: number;
  dirty: boolean;
  watcher: FSWatcher;
  /** The watched directory itself ("dev:ino"): one put in its place is not watched. */
  root: string;
  /** Its real path, for forget(path). */
  realRoot: string;
}

/** ext4, xfs, btrfs, tmpfs, zfs, overlayfs, f2fs, ramfs: local filesystems whose changes inotify sees. */
const LOCAL = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0x794c7630, 0xf2f52010, 0x858458f6,
]);

export function localFilesystem(real: string): boolean {
  if (process.platform !== "linux") return false;
  try {
    return LOCAL.has(Number(statfsSync(real).type));
  } catch {
    return false;
  }
}

export class WatchedTrees<T> {
  private readonly cache = new Map<string, Cached<T>>();

  constructor(
    private readonly read: (real: string) => T,
    private readonly opts: { max?: number; canWatch?: (real: string) => boolean } = {},
  ) {}

  /** What `read` gives for `real` (an absolute, resolved directory), from memory while it is unchanged. */
  async get(real: string): Promise<T> {
    await new Promise((resolve) => setImmediate(resolve)); // events already queued are seen first
    let entry = this.cache.get(real);
    if (entry && !entry.dirty && performance.now() - entry.at < timing.scanCacheMs)
      return entry.value;
    // A changed tree is read again under the watcher it has (setting one up costs a walk of its own),
    // unless the directory itself was replaced: the old watcher sees nothing of the new one.
    if (entry && entry.root !== identity(real)) {
      this.drop(real);
      entry = undefined;
    }
    if (!entry) {
      const fresh = { dirty: false, root: identity(real), realRoot: realOrSame(real) } as Cached<T>;
      const watcher = (this.opts.canWatch ?? localFilesystem)(real)
        ? this.watch(real, fresh)
        : undefined;
      if (!watcher) return this.read(real);
      fresh.watcher = watcher;
      this.cache.set(real, (entry = fresh));
      this.evict();
    }
    // The watcher is in place before the read begins: whatever changes from now on marks it dirty again.
    entry.dirty = false;
    entry.at = performance.now();
    try {
      entry.value = this.read(real);
    } catch (err) {
      this.drop(real);
      throw err;
    }
    return entry.value;
  }

  /**
   * Read afresh next time every tree that `path` is in or holds (every tree
   * without a path): it was just changed, and the watchers report late.
   */
  forget(path?: string): void {
    const clean = [...this.cache.values()].filter((e) => !e.dirty);
    if (!clean.length) return;
    if (path === undefined) {
      for (const e of clean) e.dirty = true;
      return;
    }
    // The path as written first (a syncdir's own writes); then as it really is, through symlinks.
    const touches = (p: string) => (e: Cached<T>) => within(e.realRoot, p) || within(p, e.realRoot);
    const hit = clean.filter(touches(path));
    const real = hit.length
      ? undefined
      : `${realOrSame(posix.dirname(path))}/${posix.basename(path)}`;
    for (const e of real ? clean.filter(touches(real)) : hit) e.dirty = true;
  }

  close(): void {
    for (const real of [...this.cache.keys()]) this.drop(real);
  }

  /** A watcher that marks `entry` dirty on anything; undefined when one cannot be had (limits, permissions). */
  private watch(real: string, entry: Cached<T>): FSWatcher | undefined {
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

/** "dev:ino" of a directory, "" when it cannot be had (the read will say why). */
function identity(real: string): string {
  try {
    const st = statSync(real);
    return `${st.dev}:${st.ino}`;
  } catch {
    return "";
  }
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Is `p` `dir` or below it? */
function within(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}
