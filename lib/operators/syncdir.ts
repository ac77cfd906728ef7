// syncdir(src, dst, {user, group, mode, exclude, delete}): dst mirrors the
// fileroot directory src like `rsync -a --delete` (see _tree-diff.ts). One
// scan from the master and one walk of dst decide; unchanged files are
// neither read nor sent. dst itself gets `mode` (0755) and the owner. Entries
// whose name starts with "." are left out on both sides, as if excluded: name
// a dot directory as the source itself, or copy() a dot file, to ship one.

import type { SyncdirOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { checkMode, ownership, parents, resolveOwner } from "./_owner.ts";
import { destination, sourceDir } from "./_paths.ts";
import { diffTrees } from "./_tree-diff.ts";
import type { Change, OpCtx, Operator } from "./types.ts";
import type { Stat, TreeItem } from "../sys/types.ts";

function checkExclude(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((p) => typeof p !== "string" || p === ""))
    throw new SaltyError("exclude must be a list of paths or globs", "E_ARG");
  const bad = value.find((p: string) => p.startsWith("/") || p.split("/").includes(".."));
  if (bad) throw new SaltyError(`exclude entries are relative to src: ${bad}`, "E_ARG");
  return value as string[];
}

export const syncdir: Operator<[src: string, dst: string, opts?: SyncdirOpts]> = {
  describe: (src, dst) => `syncdir(${src}, ${dst})`,
  async plan(ctx: OpCtx, src, dst, opts = {}) {
    const dir = sourceDir(src);
    const dest = destination(ctx, dst, "destination");
    const mode = checkMode(opts.mode, 0o755);
    // Dot entries are not part of a syncdir (the master never lists them): neither sent nor deleted.
    const exclude = [...checkExclude(opts.exclude), ".*"];
    const owner = await resolveOwner(ctx, opts);
    // The master scans the source while we walk the destination; its errors come first.
    const scanning = ctx.files.scan(dir);
    scanning.catch(() => {});
    let st: Stat | undefined, root: Change[], have: TreeItem[];
    try {
      st = await ctx.observe.stat(dest.real);
      if (st && st.type !== "dir")
        throw new SaltyError(`${dest.path} exists and is not a directory`, "E_NOT_DIR");
      root = st
        ? ownership(dest.path, st, mode, owner)
        : [
            ...(await parents(ctx, dest.path)),
            { kind: "mkdir", path: dest.path, mode, uid: owner.uid, gid: owner.gid },
          ];
      have = st ? await ctx.observe.walk(dest.real) : [];
    } catch (err) {
      await scanning;
      throw err;
    }
    const tree = await scanning;
    const { changes, counts } = diffTrees(tree, have, {
      src: dir,
      dst: dest.path,
      owner,
      exclude,
      delete: opts.delete !== false,
    });
    const all = [...root, ...changes];
    // dst's own mode or owner fixed counts as one fix (a new dst is said by `created`).
    if (st && root.length) counts.fixed = (counts.fixed ?? 0) + 1;
    return { changes: all, created: !st, counts, ...(all.length ? {} : { note: "in sync" }) };
  },
};
