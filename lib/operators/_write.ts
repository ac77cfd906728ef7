// Atomic file writes: a temporary file in the destination's directory that
// already has the final mode and owner, filled, fsync'd when it replaces a
// file (so that the old content survives a power loss), then renamed over the
// destination. A crash (or a failure) leaves the old file or the new one,
// never a partial one; the temporary file is removed on failure. A new file
// is not fsync'd (one fsync costs ~1-4 ms here, a whole first apply seconds):
// after a power loss it may be empty or missing, and the next apply, which
// compares hashes (copy, render) or sizes (syncdir), writes it again. Its name is
// the same for every write of one destination, so one torn by a crash
// (SIGKILL, power loss) is replaced by the next write, not left forever.

import { posix } from "node:path";
import type { Owner, WriteHandle } from "../sys/types.ts";
import type { OpCtx } from "./types.ts";

export interface WriteOpts {
  mode: number;
  owner: Owner;
  /** Set on the temporary file before the rename (syncdir preserves mtimes). */
  mtimeNs?: bigint;
  /** fsync before the rename; true unless the caller knows nothing is being replaced. */
  durable?: boolean;
}

let counter = 0;
/** Temporary names in use by this process: two overlapping writes of one destination get two names. */
const busy = new Set<string>();

/** The temporary name beside `real`: hidden, short enough for NAME_MAX, the same for each write of `real`. */
export function tempName(real: string): string {
  const base = posix.join(posix.dirname(real), `.${posix.basename(real).slice(0, 180)}.salty-tmp`);
  return busy.has(base) ? `${base}-${++counter}` : base;
}

/** Claim a temporary name for `real`, clearing what a crashed earlier write left there; release it with `done`. */
export async function claimTemp(ctx: Pick<OpCtx, "disk">, real: string): Promise<{ tmp: string; done(): void }> {
  const tmp = tempName(real);
  busy.add(tmp);
  try {
    await ctx.disk.remove(tmp);
  } catch (err) {
    busy.delete(tmp);
    throw err;
  }
  return { tmp, done: () => busy.delete(tmp) };
}

export async function writeAtomic(ctx: Pick<OpCtx, "disk">, real: string, opts: WriteOpts, fill: (h: WriteHandle) => Promise<void>): Promise<void> {
  const { tmp, done } = await claimTemp(ctx, real);
  try {
    const h = await ctx.disk.create(tmp, opts.mode, opts.owner);
    try {
      await fill(h);
      if (opts.durable !== false) await h.sync();
    } finally {
      await h.close();
    }
    if (opts.mtimeNs !== undefined) await ctx.disk.utimes(tmp, opts.mtimeNs);
    await ctx.disk.rename(tmp, real);
  } catch (err) {
    await ctx.disk.remove(tmp).catch(() => {});
    throw err;
  } finally {
    done();
  }
}
