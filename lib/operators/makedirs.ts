// makedirs(path, {user, group, mode}): the directory exists with that owner
// and mode; missing parents are made (0755, the agent's user).

import type { OwnerOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { checkMode, ownership, parents, resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { OpCtx, Operator } from "./types.ts";

export const makedirs: Operator<[path: string, opts?: OwnerOpts]> = {
  describe: (path, opts) =>
    `makedirs(${path}${opts?.user ? `, ${opts.user}` : ""}, 0o${octalOf(opts?.mode)})`,
  async plan(ctx: OpCtx, path, opts = {}) {
    const dest = destination(ctx, path);
    const mode = checkMode(opts.mode, 0o755);
    const owner = await resolveOwner(ctx, opts);
    const st = await ctx.observe.lstat(dest.real);
    if (st?.type === "symlink") {
      const target = await ctx.observe.stat(dest.real);
      if (target?.type !== "dir")
        throw new SaltyError(
          `${dest.path} is a symlink to something that is not a directory`,
          "E_NOT_DIR",
        );
      return {
        changes: [],
        created: false,
        note: "a symlink to a directory is there; its owner and mode are left alone",
      };
    }
    if (st && st.type !== "dir")
      throw new SaltyError(`${dest.path} exists and is not a directory`, "E_NOT_DIR");
    if (st) {
      const changes = ownership(dest.path, st, mode, owner);
      return changes.length
        ? { changes, created: false }
        : { changes, created: false, note: "directory in place with that owner and mode" };
    }
    const changes = [
      ...(await parents(ctx, dest.path)),
      { kind: "mkdir" as const, path: dest.path, mode, uid: owner.uid, gid: owner.gid },
    ];
    return { changes, created: true };
  },
};

function octalOf(mode: unknown): string {
  return typeof mode === "number" ? mode.toString(8) : "755";
}
