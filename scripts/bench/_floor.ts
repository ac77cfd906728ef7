// The physical floor, measured in the same run: lstat (and hash) every entry
// of a tree from one process compiled like salty, GNU find as the C
// reference, and `cp -a` of a tree into a fresh directory after a `sync`
// (what a first transfer cannot beat), paired with each first-transfer run. Bench-only.

import { rmSync } from "node:fs";
import { figure, type Figure } from "./_stats.ts";
import { timed } from "./_procs.ts";

export interface FloorResult {
  /** The whole process. */
  wall: Figure;
  /** Inside the process, without start-up. */
  inner: Figure;
  entries: number;
}

export function sync(): void {
  Bun.spawnSync(["sync"]);
}

export function walkFloor(floorBin: string, dir: string, hash: boolean, runs: number): FloorResult {
  const wall: number[] = [],
    inner: number[] = [];
  let entries = 0;
  for (let i = 0; i < runs + 1; i++) {
    const r = timed([floorBin, dir, ...(hash ? ["--hash"] : [])]);
    if (r.code !== 0) throw new Error(`floor failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { seconds: number; entries: number };
    entries = out.entries;
    if (i === 0) continue;
    wall.push(r.wall);
    inner.push(out.seconds);
  }
  return { wall: figure(wall), inner: figure(inner), entries };
}

/** GNU find printing every size: one lstat per entry, from C. */
export function findFloor(dir: string, runs: number): Figure {
  const wall: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const r = timed(["find", dir, "-printf", "%s\n"]);
    if (i > 0) wall.push(r.wall);
  }
  return figure(wall);
}

/** One `cp -a src dst` into a fresh dst after a sync, removed again (and synced) afterwards: seconds. */
export function cpOnce(src: string, dst: string): number {
  rmSync(dst, { recursive: true, force: true });
  sync();
  const r = timed(["cp", "-a", src, dst]);
  if (r.code !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  rmSync(dst, { recursive: true, force: true });
  sync();
  return r.wall;
}

/** Medians of per-run ratios a[i] / b[i] (paired runs see the same disk weather). */
export function pairedRatio(a: number[], b: number[]): number {
  const r = a.map((x, i) => x / b[i]!).sort((x, y) => x - y);
  const mid = Math.floor(r.length / 2);
  return r.length % 2 ? r[mid]! : (r[mid - 1]! + r[mid]!) / 2;
}
