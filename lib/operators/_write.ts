// Atomic file writes: a temporary file in the destination's directory that
// already has the final mode and owner, filled, fsync'd, then renamed over the
// destination. A crash — of the agent or of the machine — leaves the old file
// or the new one (or, for a new file, none), never a partial one; the
// temporary file is removed on failure. Every write is fsync'd, new files
// too: after a power loss a service must not find an empty config where
// salty wrote one (a measured fsync costs ~1-4 ms here). Its name is
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

/** Make `real` appear at once: `make` builds it under a temporary name in the same directory, then one rename. */
export async function replaceAtomically(ctx: Pick<OpCtx, "disk">, real: string, make: (tmp: string) => Promise<void>): Promise<void> {
  const { tmp, done } = await claimTemp(ctx, real);
  try {
    await make(tmp);
    await ctx.disk.rename(tmp, real);
  } catch (err) {
    await ctx.disk.remove(tmp).catch(() => {});
    throw err;
  } finally {
    done();
  }
}

export async function writeAtomic(ctx: Pick<OpCtx, "disk">, real: string, opts: WriteOpts, fill: (h: WriteHandle) => Promise<void>): Promise<void> {
  await replaceAtomically(ctx, real, async (tmp) => {
    const h = await ctx.disk.create(tmp, opts.mode, opts.owner);
    try {
      await fill(h);
      await h.sync();
    } finally {
      await h.close();
    }
    if (opts.mtimeNs !== undefined) await ctx.disk.utimes(tmp, opts.mtimeNs);
  });
}
