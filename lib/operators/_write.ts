// Atomic file writes: a temporary file in the destination's directory that
// already has the final mode and owner, filled, fsync'd, then renamed over the
// destination. A crash — of the agent or of the machine — leaves the old file
// or the new one (or, for a new file, none), never a partial one; the
// temporary file is removed on failure. Every write is fsync'd, new files
// too: after a power loss a service must not find an empty config where
// salty wrote one (docs/performance.md has what the fsyncs cost). Its name is
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
  /** Run on the filled temporary file before it may replace the destination (validate: a throw leaves the destination as it was). */
  check?: (tmp: string) => Promise<void>;
}

/** What a write needs: the disk, and the process's runtime that knows which temporary names are held. */
export type WriteCtx = Pick<OpCtx, "disk" | "runtime">;

/** The temporary name beside `real`: hidden, short enough for NAME_MAX, the same for each write of `real`. */
export function tempName(real: string): string {
  return posix.join(posix.dirname(real), `.${posix.basename(real).slice(0, 180)}.salty-tmp`);
}

/** Hold the temporary name for `real` (no other write of this process takes it meanwhile); release it with `done`. */
function holdTemp(ctx: WriteCtx, real: string): { tmp: string; done(): void } {
  const tmp = ctx.runtime.holdName(tempName(real));
  return { tmp, done: () => ctx.runtime.releaseName(tmp) };
}

/** Claim a temporary name for `real`, clearing what a crashed earlier write left there; release it with `done`. */
export async function claimTemp(
  ctx: WriteCtx,
  real: string,
): Promise<{ tmp: string; done(): void }> {
  const { tmp, done } = holdTemp(ctx, real);
  try {
    await ctx.disk.remove(tmp);
  } catch (err) {
    done();
    throw err;
  }
  return { tmp, done };
}

/** Make `real` appear at once: `make` builds it under a temporary name in the same directory, then one rename. */
export async function replaceAtomically(
  ctx: WriteCtx,
  real: string,
  make: (tmp: string) => Promise<void>,
): Promise<void> {
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

/**
 * `tmp` created exclusively; what a crashed earlier write left there (a file, a symlink, a directory)
 * is cleared first, only when there is one: a removal tried before every create was a syscall per
 * file for nothing (2,000 in W1's first syncdir).
 */
async function createFresh(ctx: WriteCtx, tmp: string, opts: WriteOpts): Promise<WriteHandle> {
  try {
    return await ctx.disk.create(tmp, opts.mode, opts.owner);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    await ctx.disk.remove(tmp);
    return ctx.disk.create(tmp, opts.mode, opts.owner);
  }
}

/** A file written in full under its temporary name, waiting for its fsync and rename. */
interface Staged {
  real: string;
  tmp: string;
  h: WriteHandle;
  done(): void;
  /** Run once the file is in place (remember its hash, count it). */
  then?: () => Promise<void> | void;
}

/**
 * New files made durable together: each is written under its temporary name
 * and its writeback started, then commit() fsyncs them all at once (the fsyncs
 * overlap and share journal commits: faster than one after the
 * other) and renames each over its destination, in order. The crash promise
 * is the same as writeAtomic's: nothing is renamed before it is on the disk.
 */
export class WriteBatch {
  private staged: Staged[] = [];

  constructor(private readonly ctx: WriteCtx) {}

  get size(): number {
    return this.staged.length;
  }

  async add(
    real: string,
    opts: WriteOpts,
    fill: (h: WriteHandle) => Promise<void>,
    then?: Staged["then"],
  ): Promise<void> {
    const { tmp, done } = holdTemp(this.ctx, real);
    let h: WriteHandle | undefined;
    try {
      h = await createFresh(this.ctx, tmp, opts);
      await fill(h);
      if (opts.mtimeNs !== undefined) await this.ctx.disk.utimes(tmp, opts.mtimeNs);
      if (opts.check) await opts.check(tmp);
      h.startWriteback();
    } catch (err) {
      await h?.close();
      await this.ctx.disk.remove(tmp).catch(() => {});
      done();
      throw err;
    }
    this.staged.push({ real, tmp, h, done, ...(then ? { then } : {}) });
  }

  /** fsync every staged file, then put each in place; the batch is empty afterwards. */
  async commit(): Promise<void> {
    const synced = await Promise.allSettled(this.staged.map((s) => s.h.sync()));
    const failed = synced.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    while (this.staged.length) {
      const s = this.staged[0]!;
      await s.h.close();
      await this.ctx.disk.rename(s.tmp, s.real);
      this.staged.shift();
      s.done();
      await s.then?.();
    }
  }

  /** After a failure: close and remove every file not yet in place. */
  async abort(): Promise<void> {
    for (const s of this.staged.splice(0)) {
      await s.h.close().catch(() => {});
      await this.ctx.disk.remove(s.tmp).catch(() => {});
      s.done();
    }
  }
}

/** One new file, fsync'd then renamed over `real`. */
export async function writeAtomic(
  ctx: WriteCtx,
  real: string,
  opts: WriteOpts,
  fill: (h: WriteHandle) => Promise<void>,
): Promise<void> {
  const batch = new WriteBatch(ctx);
  try {
    await batch.add(real, opts, fill);
    await batch.commit();
  } catch (err) {
    await batch.abort();
    throw err;
  }
}
