// Generated directory trees for syncdir workloads (W1's 2,000 files, W3's
// 10,000): nested directories, seeded sizes scaled to an exact total, a third
// of the files text and the rest binary-like. Bench-only.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Prng, cut, randomBlock, textOf } from "./_prng.ts";

export interface TreeSpec {
  files: number;
  bytes: number;
  /** Sizes: most files small, `big` files share `bigShare` of the bytes (chunked transfers). */
  big?: number;
  bigShare?: number;
  seed: number;
}

/** Directory names three levels deep: 5 × 5 × 4 leaves under 5 + 25 inner directories. */
function dirs(): string[] {
  const out: string[] = [];
  for (let a = 0; a < 5; a++) {
    out.push(`part${a}`);
    for (let b = 0; b < 5; b++) {
      out.push(`part${a}/group${b}`);
      for (let c = 0; c < 4; c++) out.push(`part${a}/group${b}/set${c}`);
    }
  }
  return out;
}

function sizes(rng: Prng, spec: TreeSpec): number[] {
  const big = spec.big ?? 0;
  const smallBytes = spec.bytes * (1 - (big ? (spec.bigShare ?? 0) : 0));
  const raw = Array.from({ length: spec.files - big }, () => rng.int(1, 100));
  const sum = raw.reduce((a, b) => a + b, 0);
  const out = raw.map((r) => Math.max(1, Math.round((r * smallBytes) / sum)));
  for (let i = 0; i < big; i++) out.push(Math.round((spec.bytes - smallBytes) / big));
  out[0]! += spec.bytes - out.reduce((a, b) => a + b, 0); // exact total
  return out;
}

/** Write the tree under `root`; returns its relative file paths in creation order. */
export function writeTree(root: string, spec: TreeSpec): string[] {
  const rng = new Prng(spec.seed);
  const binary = randomBlock(rng, 4 * 1024 * 1024);
  const text = textOf(rng, 1024 * 1024, "text block");
  const all = dirs();
  for (const d of all) mkdirSync(join(root, d), { recursive: true });
  const files: string[] = [];
  sizes(rng, spec).forEach((size, i) => {
    const isText = i % 3 === 0;
    const rel = `${rng.pick(all)}/file${String(i).padStart(5, "0")}.${isText ? "txt" : "bin"}`;
    writeFileSync(join(root, rel), cut(rng, isText ? text : binary, size, rel));
    files.push(rel);
  });
  return files;
}

/** Rewrite one file of the tree with other content of the same size (a "changed file" case). */
export function touchFile(path: string, size: number, run: number): void {
  const rng = new Prng(1000 + run);
  writeFileSync(path, cut(rng, randomBlock(rng, 64 * 1024), size, `changed in run ${run}`));
}
