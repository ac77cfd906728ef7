// syncdir's decision, as a pure function: the master's scan of the source
// against a walk of the destination gives the changes that make the
// destination mirror the source like `rsync -a --delete`: files compared by
// size and mtime, modes copied, owner forced, mtimes of files and
// directories preserved, extras removed. Excluded paths are neither sent nor
// deleted (rsync --exclude): a destination directory that holds an excluded
// path is kept with it, only its other extras go. Pure: no I/O.

import { posix } from "node:path";
import type { Owner, TreeItem } from "../sys/types.ts";
import { SaltyError } from "../errors.ts";
import { ownership } from "./_owner.ts";
import type { Change } from "./types.ts";

export interface TreeDiffOpts {
  /** The source directory in the fileroot ("files/app/static"). */
  src: string;
  /** The destination directory (role path). */
  dst: string;
  owner: Owner;
  exclude: string[];
  delete: boolean;
}

export interface Counts {
  /** Files and symlinks. */
  added: number;
  updated: number;
  removed: number;
  /** Entries whose content was in place but whose mode, owner or time was fixed; only when not 0. */
  fixed?: number;
  /** Directories made and removed (those below a removed one included); only when not 0. */
  dirsAdded?: number;
  dirsRemoved?: number;
}

/** The counts with the optional ones left out when 0 (results keep their short shape). */
export function tally(c: Required<Counts>): Counts {
  const out: Counts = { added: c.added, updated: c.updated, removed: c.removed };
  if (c.fixed) out.fixed = c.fixed;
  if (c.dirsAdded) out.dirsAdded = c.dirsAdded;
  if (c.dirsRemoved) out.dirsRemoved = c.dirsRemoved;
  return out;
}

/** utimes carries a double and walks read mtimes as doubles (sys/walk.ts): an mtime set by us comes back within ~0.6 µs. */
export function sameTime(a: string, b: string): boolean {
  if (a === b) return true;
  // The same second (all but the last nine digits): compare the nanoseconds as plain numbers, no BigInt.
  const n = a.length - 9;
  if (n > 0 && b.length === a.length && a.startsWith(b.slice(0, n))) {
    const ns = Number(a.slice(n)) - Number(b.slice(n));
    return ns < 1000 && ns > -1000;
  }
  const d = BigInt(a) - BigInt(b);
  return d < 1000n && d > -1000n;
}

/** Does an exclude pattern (a path, or a glob; a pattern without "/" also matches any base name) match `path`? */
export function excluder(patterns: string[]): (path: string) => boolean {
  const globs = patterns.map((p) => ({
    p: p.replace(/\/+$/, ""),
    g: new Bun.Glob(p.replace(/\/+$/, "")),
    base: !p.includes("/"),
  }));
  return (path) =>
    globs.some(
      ({ p, g, base }) => p === path || g.match(path) || (base && g.match(posix.basename(path))),
    );
}

/** Is `path` below one of `dirs` ("a/b/c" is below "a" and "a/b")? */
function below(dirs: Set<string>, path: string): boolean {
  if (dirs.size === 0) return false;
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1))
    if (dirs.has(path.slice(0, i))) return true;
  return false;
}

/** Entries not excluded, and not below an excluded directory; `holders`: the directories above an excluded entry. */
function kept(
  items: TreeItem[],
  isExcluded: (p: string) => boolean,
): { items: Map<string, TreeItem>; holders: Set<string> } {
  const out = new Map<string, TreeItem>();
  const dropped = new Set<string>();
  const holders = new Set<string>();
  for (const it of items) {
    if (below(dropped, it.path)) continue;
    if (isExcluded(it.path)) {
      if (it.type === "dir") dropped.add(it.path);
      for (let d = posix.dirname(it.path); d !== "." && !holders.has(d); d = posix.dirname(d))
        holders.add(d);
      continue;
    }
    out.set(it.path, it);
  }
  return { items: out, holders };
}

function conflicts(s: TreeItem, d: TreeItem): boolean {
  return s.type !== d.type || (s.type === "symlink" && s.target !== d.target);
}

/** The state both passes share. */
interface Walk {
  o: TreeDiffOpts;
  src: Map<string, TreeItem>;
  dst: Map<string, TreeItem>;
  /** Destination directories that hold an excluded path: never removed. */
  holders: Set<string>;
  counts: Required<Counts>;
  /** Removed destination paths (their subtrees go with them). */
  gone: Set<string>;
  /** Directories whose content changes (their mtime must be set again). */
  dirty: Set<string>;
  /** Entries whose mode or owner is fixed (counted once). */
  fixed: Set<string>;
}

const at = (w: Walk, rel: string) => posix.join(w.o.dst, rel);
const isGone = (w: Walk, rel: string) => w.gone.has(rel) || below(w.gone, rel);

/** Extras (unless delete is off) and entries of the wrong type are removed first. */
function removals(w: Walk): Change[] {
  const out: Change[] = [];
  for (const d of w.dst.values()) {
    const s = w.src.get(d.path);
    if ((s && !conflicts(s, d)) || (!s && !w.o.delete)) continue;
    if (w.holders.has(d.path)) {
      // rsync cannot replace it either ("cannot delete non-empty directory"): say so rather than lose the excluded path.
      if (s)
        throw new SaltyError(
          `${at(w, d.path)} holds excluded paths and cannot be replaced by a ${s.type}`,
          "E_EXCLUDED",
        );
      continue; // kept with its excluded paths; its other extras are removed one by one
    }
    if (!s) w.counts[d.type === "dir" ? "dirsRemoved" : "removed"]++;
    if (below(w.gone, d.path)) continue;
    w.gone.add(d.path);
    w.dirty.add(posix.dirname(d.path));
    out.push({ kind: "remove", path: at(w, d.path) });
  }
  return out;
}

/** Source entries made or fixed, in source order (parents first). */
function mirror(w: Walk): Change[] {
  const out: Change[] = [];
  const { uid, gid } = w.o.owner;
  for (const s of w.src.values()) {
    const d = isGone(w, s.path) ? undefined : w.dst.get(s.path);
    if (d && !(s.type === "file" && (s.size !== d.size || !sameTime(s.mtimeNs, d.mtimeNs)))) {
      const now = { mode: d.mode, uid: d.uid ?? -1, gid: d.gid ?? -1 };
      const mode = s.type === "symlink" ? undefined : s.mode;
      // The destination path is joined only when something is to be fixed (most entries are in sync).
      const fix = ownership("", now, mode, w.o.owner).length
        ? ownership(at(w, s.path), now, mode, w.o.owner)
        : [];
      if (fix.length) w.counts.fixed++, w.fixed.add(s.path);
      out.push(...fix);
      continue;
    }
    const path = at(w, s.path);
    if (s.type === "dir") w.counts.dirsAdded++;
    else w.counts[w.dst.has(s.path) ? "updated" : "added"]++;
    w.dirty.add(posix.dirname(s.path));
    if (s.type === "dir") out.push({ kind: "mkdir", path, mode: s.mode, uid, gid });
    else if (s.type === "symlink")
      out.push({ kind: "symlink", path, target: s.target ?? "", uid, gid });
    else
      out.push({
        kind: "fetch",
        path,
        src: `${w.o.src}/${s.path}`,
        size: s.size,
        mtimeNs: s.mtimeNs,
        mode: s.mode,
        uid,
        gid,
      });
  }
  return out;
}

/** Directory mtimes, deepest first, once nothing inside them changes any more. */
function dirTimes(w: Walk): Change[] {
  const out: Change[] = [];
  for (const s of [...w.src.values()].reverse()) {
    if (s.type !== "dir") continue;
    const d = isGone(w, s.path) ? undefined : w.dst.get(s.path);
    if (!d || w.dirty.has(s.path) || !sameTime(s.mtimeNs, d.mtimeNs)) {
      // Only a directory's time out of date: a fix like mode or owner (unless counted already).
      if (d && !w.dirty.has(s.path) && !w.fixed.has(s.path)) w.counts.fixed++;
      out.push({ kind: "utime", path: at(w, s.path), mtimeNs: s.mtimeNs });
    }
  }
  return out;
}

/**
 * The last diff that found nothing to do, by source list: the agent's scan
 * cache and watched destinations hand back the very same arrays while
 * neither side changed (agent/scan-cache.ts, sys/watched-trees.ts), and the
 * diff is a pure function of them, so a no-change syncdir is not diffed
 * again (2,000 entries: ~3 ms of the role worker's CPU). Trees are never
 * changed in place: a changed side is a new array, and misses.
 */
const inSync = new WeakMap<TreeItem[], { dst: TreeItem[]; opts: string; counts: Counts }>();

export function diffTrees(
  srcItems: TreeItem[],
  dstItems: TreeItem[],
  o: TreeDiffOpts,
): { changes: Change[]; counts: Counts } {
  const opts = JSON.stringify(o);
  const hit = inSync.get(srcItems);
  if (hit && hit.dst === dstItems && hit.opts === opts)
    return { changes: [], counts: { ...hit.counts } };
  const diff = diffOnce(srcItems, dstItems, o);
  if (diff.changes.length === 0)
    inSync.set(srcItems, { dst: dstItems, opts, counts: { ...diff.counts } });
  else inSync.delete(srcItems);
  return diff;
}

function diffOnce(
  srcItems: TreeItem[],
  dstItems: TreeItem[],
  o: TreeDiffOpts,
): { changes: Change[]; counts: Counts } {
  const isExcluded = excluder(o.exclude);
  const dst = kept(dstItems, isExcluded);
  const counts = { added: 0, updated: 0, removed: 0, fixed: 0, dirsAdded: 0, dirsRemoved: 0 };
  const w: Walk = {
    o,
    src: kept(srcItems, isExcluded).items,
    dst: dst.items,
    holders: dst.holders,
    counts,
    gone: new Set(),
    dirty: new Set(),
    fixed: new Set(),
  };
  const changes = [...removals(w), ...mirror(w)];
  return { changes: [...changes, ...dirTimes(w)], counts: tally(w.counts) };
}
