// remove(path): path is absent (recursively; a symlink is removed, not followed).

import { SaltyError } from "../errors.ts";
import { destination } from "./_paths.ts";
import type { OpCtx, Operator } from "./types.ts";

export const remove: Operator<[path: string]> = {
  describe: (path) => `remove(${path})`,
  async plan(ctx: OpCtx, path) {
    const dest = destination(ctx, path);
    if (dest.path === "/") throw new SaltyError("refusing to remove /", "E_ARG");
    const st = await ctx.observe.lstat(dest.real);
    return st
      ? { changes: [{ kind: "remove", path: dest.path }] }
      : { changes: [], note: "already absent" };
  },
};
