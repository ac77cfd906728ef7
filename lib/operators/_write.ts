// Atomic file writes: a temporary file in the destination's directory that
// already has the final mode and owner, filled, fsync'd, then renamed over the
// destination. A crash (or a failure) leaves the old file or the new one,
// never a partial one; the temporary file is removed on failure.

import { posix } from "node:path";
import type { Owner, WriteHandle } from "../sys/types.ts";
import type { OpCtx } from "./types.ts";

export interface WriteOpts {
  mode: number;
  owner: Owner;
  /** Set on the temporary file before the rename (syncdir preserves mtimes). */
  mtimeNs?: bigint;
}

let counter = 0;

/** The temporary name beside `real`: hidden, unique, short enough for NAME_MAX. */
export function tempName(real: string): string {
  const base = posix.basename(real).slice(0, 180);
  return posix.join(posix.dirname(real), `.${base}.salty-${process.pid}-${++counter}`);
}

export async function writeAtomic(ctx: Pick<OpCtx, "disk">, real: string, opts: WriteOpts, fill: (h: WriteHandle) => Promise<void>): Promise<void> {
  const tmp = tempName(real);
  const h = await ctx.disk.create(tmp, opts.mode, opts.owner);
  try {
    try {
      await fill(h);
      await h.sync();
    } finally {
      await h.close();
    }
    if (opts.mtimeNs !== undefined) await ctx.disk.utimes(tmp, opts.mtimeNs);
    await ctx.disk.rename(tmp, real);
  } catch (err) {
    await ctx.disk.remove(tmp).catch(() => {});
    throw err;
  }
}
