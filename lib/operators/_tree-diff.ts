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

/** utimes carries a double: mtimes set by us come back within ~0.3 µs. */
export function sameTime(a: string, b: string): boolean {
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

export function diffTrees(srcItems: TreeItem[], dstItems: TreeItem[], o: TreeDiffOpts): { changes: Change[]; counts: Counts } {
  const isExcluded = excluder(o.exclude);
  const src = kept(srcItems, isExcluded), dst = kept(dstItems, isExcluded);
  const at = (rel: string) => posix.join(o.dst, rel);
  const counts: Counts = { added: 0, updated: 0, removed: 0 };
  const removes: Change[] = [], main: Change[] = [];
  const dirty = new Set<string>();
  const touch = (rel: string) => dirty.add(posix.dirname(rel));
  const gone = new Set<string>();
  for (const d of dst.values()) {
    const s = src.get(d.path);
    if (s && !conflicts(s, d)) continue;
    if (!s && !o.delete) continue;
    if (below(gone, d.path)) {
      if (d.type !== "dir" && !s) counts.removed++;
      continue;
    }
    gone.add(d.path);
    removes.push({ kind: "remove", path: at(d.path) });
    touch(d.path);
    if (!s && d.type !== "dir") counts.removed++;
  }
  const isGone = (p: string) => gone.has(p) || below(gone, p);
  const { uid, gid } = o.owner;
  for (const s of src.values()) {
    const d = isGone(s.path) ? undefined : dst.get(s.path);
    const path = at(s.path);
    if (d) {
      const stale = s.type === "file" && (s.size !== d.size || !sameTime(s.mtimeNs, d.mtimeNs));
      if (!stale) {
        const fix = ownership(path, { mode: d.mode, uid: d.uid ?? -1, gid: d.gid ?? -1 }, s.type === "symlink" ? undefined : s.mode, o.owner);
        if (fix.length && s.type !== "dir") counts.updated++;
        main.push(...fix);
        continue;
      }
      counts.updated++;
    } else if (s.type !== "dir") {
      if (dst.has(s.path)) counts.updated++;
      else counts.added++;
    }
    touch(s.path);
    if (s.type === "dir") main.push({ kind: "mkdir", path, mode: s.mode, uid, gid });
    else if (s.type === "symlink") main.push({ kind: "symlink", path, target: s.target ?? "", uid, gid });
    else main.push({ kind: "fetch", path, src: `${o.src}/${s.path}`, size: s.size, mtimeNs: s.mtimeNs, mode: s.mode, uid, gid });
  }
  const utimes: Change[] = [];
  for (const s of [...src.values()].reverse()) {
    if (s.type !== "dir") continue;
    const d = isGone(s.path) ? undefined : dst.get(s.path);
    if (!d || dirty.has(s.path) || !sameTime(s.mtimeNs, d.mtimeNs)) utimes.push({ kind: "utime", path: at(s.path), mtimeNs: s.mtimeNs });
  }
  return { changes: [...removes, ...main, ...utimes], counts };
}
