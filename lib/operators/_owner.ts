// Owner and mode: resolving user/group names against the live system, and
// the chmod/chown/mkdir changes that bring a path to them. Reads only.

import { SaltyError } from "../errors.ts";
import type { Owner, Stat } from "../sys/types.ts";
import { ancestors, realPath } from "./_paths.ts";
import type { Change, OpCtx } from "./types.ts";

export interface OwnerOpts {
  user?: unknown;
  group?: unknown;
  mode?: unknown;
}

/** The uid/gid for `user`/`group`; the agent's user and that user's primary group by default. */
export async function resolveOwner(ctx: OpCtx, opts: OwnerOpts): Promise<Owner> {
  for (const k of ["user", "group"] as const) {
    if (opts[k] !== undefined && (typeof opts[k] !== "string" || opts[k] === ""))
      throw new SaltyError(`${k} must be a name`, "E_ARG");
  }
  const user =
    opts.user === undefined ? await ctx.users.self() : await ctx.users.user(opts.user as string);
  if (!user) throw new SaltyError(`no such user: ${opts.user}`, "E_NO_USER");
  if (opts.group === undefined) return { uid: user.uid, gid: user.gid };
  const gid = await ctx.users.group(opts.group as string);
  if (gid === undefined) throw new SaltyError(`no such group: ${opts.group}`, "E_NO_GROUP");
  return { uid: user.uid, gid };
}

/** A permission mode given as a number (0o644). */
export function checkMode(mode: unknown, fallback: number): number {
  if (mode === undefined) return fallback;
  if (typeof mode !== "number" || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new SaltyError(`mode must be a number like 0o644, not ${JSON.stringify(mode)}`, "E_ARG");
  }
  return mode;
}

/** chmod/chown needed to bring an existing path to `mode` and `owner`. */
export function ownership(
  path: string,
  st: Pick<Stat, "mode" | "uid" | "gid">,
  mode: number | undefined,
  owner: Owner,
): Change[] {
  const out: Change[] = [];
  if (mode !== undefined && st.mode !== mode) out.push({ kind: "chmod", path, mode, was: st.mode });
  if (st.uid !== owner.uid || st.gid !== owner.gid)
    out.push({
      kind: "chown",
      path,
      uid: owner.uid,
      gid: owner.gid,
      was: { uid: st.uid, gid: st.gid },
    });
  return out;
}

/** mkdir changes (0755, the agent's user) for the missing ancestors of `path`, outermost first.
 * Under --path the prefix itself ("/") is not planned: apply.ts makes it, with its parents, before any change. */
export async function parents(ctx: OpCtx, path: string): Promise<Change[]> {
  const missing: string[] = [];
  for (const dir of ancestors(path)) {
    if (dir === "/" && ctx.pathPrefix) break;
    const st = await ctx.observe.stat(realPath(ctx, dir));
    if (st?.type === "dir") break;
    if (st) throw new SaltyError(`${dir} exists and is not a directory`, "E_NOT_DIR");
    missing.push(dir);
  }
  if (missing.length === 0) return [];
  const self = await ctx.users.self();
  return missing
    .reverse()
    .map((dir) => ({ kind: "mkdir", path: dir, mode: 0o755, uid: self.uid, gid: self.gid }));
}
