// Carrying out a plan: each change in order, through the injected Disk,
// FileSource and Exec. It decides nothing (the plan did) and stops at the
// first failure, which run.ts turns into the Result's error. Small new files
// in a row (a syncdir's) are fsync'd as a batch before they are renamed.

import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { Prefetcher, isSmall, streamInto, type FetchChange } from "./_fetch.ts";
import { realPath } from "./_paths.ts";
import { Confinement } from "./_confine.ts";
import { replaceAtomically, writeAtomic, WriteBatch, type WriteOpts } from "./_write.ts";
import { runValidate } from "./_validate.ts";
import { downloadTo } from "./_download.ts";
import { unarchiveInto } from "./_archive.ts";
import type { WriteHandle } from "../sys/types.ts";
import type { Change, OpCtx, Plan } from "./types.ts";

export interface ActProgress {
  /** Changes carried out so far (something changed when > 0, even if a later one failed). */
  count: number;
  /** The exit status and output of a reported command (shell, serverShell). */
  exec?: { rc: number; output: string; error?: string };
}

type Ctx = OpCtx & { prefetch: Prefetcher; blobs: Map<string, Uint8Array>; confine?: Confinement };

/** Small new files made durable together (see WriteBatch): at most this many open at once. */
const BATCH_FILES = 64;

/** The --path prefix, made with its parents when it is missing (removed while the agent runs, or never made:
 * the agent does not make it at start, so that a dry run creates nothing). One stat per plan that changes something. */
async function ensurePrefix(ctx: OpCtx): Promise<void> {
  if (!ctx.pathPrefix || (await ctx.observe.stat(ctx.pathPrefix))) return;
  const missing: string[] = [];
  for (
    let dir = ctx.pathPrefix;
    dir !== "/" && !(await ctx.observe.stat(dir));
    dir = posix.dirname(dir)
  )
    missing.push(dir);
  for (const dir of missing.reverse())
    await ctx.disk.mkdir(dir, 0o755).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // made meanwhile by an overlapping call
    });
}

export async function act(ctx: OpCtx, plan: Plan, progress: ActProgress): Promise<void> {
  await ensurePrefix(ctx);
  const run: Ctx = {
    ...ctx,
    prefetch: new Prefetcher(ctx.files, plan.changes),
    blobs: plan.blobs ?? new Map(),
  };
  // Under --path no write may leave the prefix through a symlinked parent (_confine.ts).
  if (ctx.pathPrefix) run.confine = new Confinement(ctx.pathPrefix);
  const batch = new WriteBatch(ctx);
  try {
    for (const c of plan.changes) {
      if (ctx.signal?.aborted) throw new SaltyError("stopped: the role timed out", "E_TIMEOUT");
      if (c.kind === "fetch" && isSmall(c)) {
        await stageFetch(run, batch, c, progress);
        if (batch.size >= BATCH_FILES) await batch.commit();
        continue;
      }
      // A directory can be made while files wait for their fsync; anything else comes after them, in plan order.
      if (c.kind !== "mkdir") await batch.commit();
      await applyOne(run, c, progress);
      progress.count++;
    }
    await batch.commit();
  } catch (err) {
    await batch.abort();
    throw err;
  }
}

/** Checked before the rename: a torn transfer never replaces the destination. */
function checkHash(c: FetchChange, got: string | undefined): void {
  if (c.hash && got !== c.hash)
    throw new SaltyError(
      `${c.src} changed on the master during the transfer; run again`,
      "E_CHANGED",
    );
}

/** The write's options; with `validate`, the check that runs on the temporary file before the rename. */
function writeOpts(ctx: OpCtx, c: FetchChange | Extract<Change, { kind: "write" }>): WriteOpts {
  const check = c.validate
    ? { check: (tmp: string) => runValidate(ctx.exec, c.validate!, tmp, ctx.signal) }
    : {};
  const mtime = c.kind === "fetch" && c.mtimeNs ? { mtimeNs: BigInt(c.mtimeNs) } : {};
  return { mode: c.mode, owner: { uid: c.uid, gid: c.gid }, ...mtime, ...check };
}

/** A small file: its content from the prefetcher, written into the batch; counted once in place. */
async function stageFetch(
  ctx: Ctx,
  batch: WriteBatch,
  c: FetchChange,
  progress: ActProgress,
): Promise<void> {
  const real = realPath(ctx, c.path);
  await ctx.confine?.check(c.path, real);
  const fill = async (h: WriteHandle) => {
    const data = await ctx.prefetch.get(c);
    checkHash(c, c.hash ? hashBytes(data) : undefined);
    await h.write(data);
    ctx.runtime.received(data.length);
  };
  await batch.add(real, writeOpts(ctx, c), fill, async () => {
    if (c.hash) await ctx.observe.remember(real, c.hash);
    progress.count++;
  });
}

/** A big file, streamed chunk by chunk and made durable on its own. */
async function fetchBig(ctx: Ctx, c: FetchChange, real: string): Promise<void> {
  await writeAtomic(ctx, real, writeOpts(ctx, c), async (h) =>
    checkHash(c, await streamInto(ctx, c, h)),
  );
  if (c.hash) await ctx.observe.remember(real, c.hash);
}

async function symlinkAtomic(
  ctx: Ctx,
  c: Extract<Change, { kind: "symlink" }>,
  real: string,
): Promise<void> {
  await replaceAtomically(ctx, real, async (tmp) => {
    await ctx.disk.symlink(c.target, tmp);
    if (c.uid !== undefined && c.gid !== undefined)
      await ctx.disk.lchown(tmp, { uid: c.uid, gid: c.gid });
  });
}

async function execute(
  ctx: Ctx,
  c: Extract<Change, { kind: "exec" }>,
  progress: ActProgress,
): Promise<void> {
  const opts = {
    ...(c.cwd ? { cwd: c.cwd } : {}),
    ...(c.env ? { env: c.env } : {}),
    ...(c.stdin !== undefined ? { stdin: c.stdin } : {}),
  };
  let r: { rc: number; output: string; error?: string };
  if (c.on === "master") {
    if (!ctx.serverShell) throw new SaltyError("serverShell is not available", "E_NO_SERVER_SHELL");
    const role = typeof ctx.locals.role === "string" ? ctx.locals.role : "";
    const res = await ctx.serverShell({
      name: c.argv[0] ?? "",
      role,
      ...(c.args !== undefined ? { args: c.args } : {}),
      ...(c.timeoutMs ? { timeout: c.timeoutMs / 1000 } : {}),
    });
    r = { rc: res.rc, output: res.output ?? "", ...(res.error ? { error: res.error } : {}) };
  } else {
    const res = await ctx.exec(c.argv, {
      ...opts,
      ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    r = {
      rc: res.rc,
      output: res.output,
      ...(res.timedOut ? { error: `timed out after ${(c.timeoutMs ?? 0) / 1000}s` } : {}),
    };
  }
  // Any command may have added users or groups (shell("adduser ...") too): look again next time.
  if (c.on !== "master") ctx.users.invalidate();
  if (c.report) {
    progress.exec = r;
    return;
  }
  if (r.rc !== 0 && c.lockHeld && new RegExp(c.lockHeld.pattern).test(r.output))
    throw new SaltyError(`${c.lockHeld.message}: ${lastLine(r.output)}`, "E_LOCKED");
  if (r.rc !== 0)
    throw new SaltyError(
      `${c.argv.join(" ")} failed (rc ${r.rc}): ${r.output.trim()}`,
      "E_COMMAND",
    );
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split("\n")
      .filter((l) => /lock/i.test(l))
      .pop() ??
    s.trim().split("\n").pop() ??
    ""
  );
}

async function applyOne(ctx: Ctx, c: Change, progress: ActProgress): Promise<void> {
  const real = c.kind === "exec" ? "" : realPath(ctx, c.path);
  // chmod and utime follow a symlink at the path itself; every other change acts on its parent directory.
  if (c.kind !== "exec")
    await ctx.confine?.check(c.path, real, { self: c.kind === "chmod" || c.kind === "utime" });
  switch (c.kind) {
    case "mkdir":
      await ctx.disk.mkdir(real, c.mode);
      return ctx.disk.lchown(real, { uid: c.uid, gid: c.gid });
    case "write": {
      const data = ctx.blobs.get(c.hash);
      if (!data) throw new SaltyError(`no content for ${c.path}`, "E_BUG");
      await writeAtomic(ctx, real, writeOpts(ctx, c), (h) => h.write(data));
      return ctx.observe.remember(real, c.hash);
    }
    case "fetch":
      return fetchBig(ctx, c, real);
    case "chmod":
      return ctx.disk.chmod(real, c.mode);
    case "chown":
      return ctx.disk.lchown(real, { uid: c.uid, gid: c.gid });
    case "symlink":
      await symlinkAtomic(ctx, c, real);
      return ctx.confine?.forget();
    case "remove":
      return ctx.disk.remove(real);
    case "utime":
      return ctx.disk.utimes(real, BigInt(c.mtimeNs));
    case "download":
      return ctx.observe.remember(real, await downloadTo(ctx, c, real));
    case "unarchive":
      return unarchiveInto(ctx, c, real);
    case "exec":
      return execute(ctx, c, progress);
  }
}
