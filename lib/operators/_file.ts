// The plan shared by copy, render and lineInFile: a file must hold given
// content with a mode and an owner. Only the differences become changes;
// with --diff a text change carries a unified diff. Reads only.

import { limits } from "../constants.ts";
import { SaltyError } from "../errors.ts";
import type { Owner, Stat } from "../sys/types.ts";
import { ownership, parents } from "./_owner.ts";
import type { Dest } from "./_paths.ts";
import type { Change, OpCtx, Plan } from "./types.ts";
import { unifiedDiff } from "./unified-diff.ts";
import { SECRET_DIFF } from "../crypto/mask.ts";

export interface Content {
  hash: string;
  size: number;
  /** In memory (render, lineInFile, small copies); else pulled from `src` on the master. */
  data?: Uint8Array;
  src?: string;
  /** From an `.enc` source: the diff says so and shows nothing of it. */
  secret?: boolean;
}

/** What a destination holds now: its stat and, for a regular file, its content hash (cached). */
export async function current(
  ctx: OpCtx,
  dest: Dest,
): Promise<{ st: Stat | undefined; have: string | undefined }> {
  const st = await ctx.observe.lstat(dest.real);
  if (st?.type === "dir") throw new SaltyError(`${dest.path} is a directory`, "E_IS_DIR");
  return { st, have: st?.type === "file" ? await ctx.observe.hash(dest.real, st) : undefined };
}

/** The plan for `dest` to hold `next`; `validate` (a command line with %s, checked by checkValidate) runs on the new content before it replaces the file. */
export async function planContent(
  ctx: OpCtx,
  dest: Dest,
  now: { st: Stat | undefined; have: string | undefined },
  next: Content,
  mode: number,
  owner: Owner,
  validate?: string,
): Promise<Plan> {
  const { st, have } = now;
  if (st && next.hash === have) {
    const changes = ownership(dest.path, st, mode, owner);
    return changes.length
      ? { changes, created: false }
      : { changes, created: false, note: "content, mode and owner already match" };
  }
  const changes: Change[] = st ? [] : await parents(ctx, dest.path);
  const blobs = new Map<string, Uint8Array>();
  const was = st?.type === "file" ? { was: { mode: st.mode, uid: st.uid, gid: st.gid } } : {};
  const file = {
    path: dest.path,
    size: next.size,
    hash: next.hash,
    mode,
    uid: owner.uid,
    gid: owner.gid,
    ...was,
    ...(validate ? { validate } : {}),
  };
  if (next.data) {
    blobs.set(next.hash, next.data);
    changes.push({ kind: "write", ...file });
  } else {
    if (!next.src) throw new SaltyError("content has neither data nor a source", "E_BUG");
    changes.push({ kind: "fetch", src: next.src, ...file });
  }
  const plan: Plan = { changes, created: !st, blobs };
  if (ctx.diff) plan.diff = next.secret ? SECRET_DIFF : await textDiff(ctx, dest, st, next);
  return plan;
}

function isText(data: Uint8Array): boolean {
  if (data.subarray(0, 8192).includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

async function textDiff(
  ctx: OpCtx,
  dest: Dest,
  st: Stat | undefined,
  next: Content,
): Promise<string> {
  const oldSize = st?.type === "file" ? st.size : 0;
  if (oldSize > limits.diffMaxBytes || next.size > limits.diffMaxBytes || !next.data)
    return "(large file: diff not shown)\n";
  const old = st?.type === "file" ? await ctx.observe.read(dest.real) : new Uint8Array();
  if (!isText(old) || !isText(next.data)) return "(binary file: diff not shown)\n";
  const dec = new TextDecoder();
  return unifiedDiff(dec.decode(old), dec.decode(next.data), {
    from: st ? dest.path : "/dev/null",
    to: dest.path,
  });
}
