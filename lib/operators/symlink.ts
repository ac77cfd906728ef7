// symlink(target, path): path is a symlink to target, replacing a file, a
// link or a directory there. Missing parents are made (0755). A link is
// replaced atomically (made beside it, then renamed over it).

import { SaltyError } from "../errors.ts";
import { parents } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { Change, OpCtx, Operator } from "./types.ts";

export const symlink: Operator<[target: string, path: string]> = {
  describe: (target, path) => `symlink(${target}, ${path})`,
  async plan(ctx: OpCtx, target, path) {
    if (typeof target !== "string" || target === "" || target.includes("\0"))
      throw new SaltyError("target must be a non-empty string", "E_ARG");
    const dest = destination(ctx, path);
    const st = await ctx.observe.lstat(dest.real);
    if (st?.type === "symlink" && (await ctx.observe.readlink(dest.real)) === target) {
      return { changes: [], created: false, note: "the link is in place" };
    }
    const changes: Change[] = st ? [] : await parents(ctx, dest.path);
    if (st?.type === "dir") changes.push({ kind: "remove", path: dest.path });
    changes.push({ kind: "symlink", path: dest.path, target });
    return { changes, created: !st };
  },
};
