// syncdir's decision, as a pure function: the master's scan of the source
// against a walk of the destination gives the changes that make the
// destination mirror the source like `rsync -a --delete`: files compared by
// size and mtime, modes copied, owner forced, mtimes of files and
// directories preserved, extras removed. Pure: no I/O.

import { posix } from "node:path";
import type { Owner, TreeItem } from "../sys/types.ts";
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
  added: number;
  updated: number;
  removed: number;
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
  const globs = patterns.map((p) => ({ p: p.replace(/\/+$/, ""), g: new Bun.Glob(p.replace(/\/+$/, "")), base: !p.includes("/") }));
  return (path) => globs.some(({ p, g, base }) => p === path || g.match(path) || (base && g.match(posix.basename(path))));
}

/** Is `path` below one of `dirs` ("a/b/c" is below "a" and "a/b")? */
function below(dirs: Set<string>, path: string): boolean {
  if (dirs.size === 0) return false;
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) if (dirs.has(path.slice(0, i))) return true;
  return false;
}

/** Entries not excluded, and not below an excluded directory. */
function kept(items: TreeItem[], isExcluded: (p: string) => boolean): Map<string, TreeItem> {
  const out = new Map<string, TreeItem>();
  const dropped = new Set<string>();
  for (const it of items) {
    if (below(dropped, it.path)) continue;
    if (isExcluded(it.path)) {
      if (it.type === "dir") dropped.add(it.path);
      continue;
    }
    out.set(it.path, it);
  }
  return out;
}

function conflicts(s: TreeItem, d: TreeItem): boolean {
  return s.type !== d.type || (s.type === "symlink" && s.target !== d.target);
}

/** The state both passes share. */
interface Walk {
  o: TreeDiffOpts;
  src: Map<string, TreeItem>;
  dst: Map<string, TreeItem>;
  counts: Counts;
  /** Removed destination paths (their subtrees go with them). */
  gone: Set<string>;
  /** Directories whose content changes (their mtime must be set again). */
  dirty: Set<string>;
}

const at = (w: Walk, rel: string) => posix.join(w.o.dst, rel);
const isGone = (w: Walk, rel: string) => w.gone.has(rel) || below(w.gone, rel);

/** Extras (unless delete is off) and entries of the wrong type are removed first. */
function removals(w: Walk): Change[] {
  const out: Change[] = [];
  for (const d of w.dst.values()) {
    const s = w.src.get(d.path);
    if ((s && !conflicts(s, d)) || (!s && !w.o.delete)) continue;
    if (!s && d.type !== "dir") w.counts.removed++;
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
      const fix = ownership("", now, mode, w.o.owner).length ? ownership(at(w, s.path), now, mode, w.o.owner) : [];
      if (fix.length && s.type !== "dir") w.counts.updated++;
      out.push(...fix);
      continue;
    }
    const path = at(w, s.path);
    if (s.type !== "dir") w.counts[w.dst.has(s.path) ? "updated" : "added"]++;
    w.dirty.add(posix.dirname(s.path));
    if (s.type === "dir") out.push({ kind: "mkdir", path, mode: s.mode, uid, gid });
    else if (s.type === "symlink") out.push({ kind: "symlink", path, target: s.target ?? "", uid, gid });
    else out.push({ kind: "fetch", path, src: `${w.o.src}/${s.path}`, size: s.size, mtimeNs: s.mtimeNs, mode: s.mode, uid, gid });
  }
  return out;
}

/** Directory mtimes, deepest first, once nothing inside them changes any more. */
function dirTimes(w: Walk): Change[] {
  const out: Change[] = [];
  for (const s of [...w.src.values()].reverse()) {
    if (s.type !== "dir") continue;
    const d = isGone(w, s.path) ? undefined : w.dst.get(s.path);
    if (!d || w.dirty.has(s.path) || !sameTime(s.mtimeNs, d.mtimeNs)) out.push({ kind: "utime", path: at(w, s.path), mtimeNs: s.mtimeNs });
  }
  return out;
}

export function diffTrees(srcItems: TreeItem[], dstItems: TreeItem[], o: TreeDiffOpts): { changes: Change[]; counts: Counts } {
  const isExcluded = excluder(o.exclude);
  const w: Walk = { o, src: kept(srcItems, isExcluded), dst: kept(dstItems, isExcluded), counts: { added: 0, updated: 0, removed: 0 }, gone: new Set(), dirty: new Set() };
  const changes = [...removals(w), ...mirror(w)];
  return { changes: [...changes, ...dirTimes(w)], counts: w.counts };
}
