// download(url, dest, {sha256, mode, user, group}): dest holds the file at
// `url`. Planned from the destination alone: with `sha256`, a destination that
// already has that hash is not fetched (no request at all); without, an
// existing destination is left as it is. Carried out by a `download` change
// (_download.ts): streamed into the temporary file beside dest, hashed on the
// way, checked, then renamed: never a half file, never an unverified one.

import type { DownloadOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { checkMode, ownership, parents, resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { Change, OpCtx, Operator } from "./types.ts";

/** An http(s) URL, as a string; anything else throws. Pure. */
export function checkUrl(url: unknown): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new SaltyError(`url must be an http or https URL: ${JSON.stringify(url)}`, "E_ARG");
  }
  if (typeof url !== "string" || (u.protocol !== "http:" && u.protocol !== "https:"))
    throw new SaltyError(`url must be an http or https URL: ${JSON.stringify(url)}`, "E_ARG");
  return url;
}

/** The URL without the credentials it may carry (user:password@), for output. Pure. */
export function plainUrl(url: unknown): string {
  try {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(String(url))) return String(url); // a path or scp-like "git@host:repo": as given
    const u = new URL(String(url));
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return String(url);
  }
}

/** A SHA-256 in hex (64 digits), lower-cased; undefined when not given. Pure. */
export function checkSha256(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[0-9a-fA-F]{64}$/.test(value))
    throw new SaltyError(`sha256 must be 64 hex digits: ${JSON.stringify(value)}`, "E_ARG");
  return value.toLowerCase();
}

export const download: Operator<[url: string, dest: string, opts?: DownloadOpts]> = {
  describe: (url, dest) => `download(${plainUrl(url)}, ${dest})`,
  async plan(ctx: OpCtx, urlArg, destArg, opts = {}) {
    const url = checkUrl(urlArg);
    const dest = destination(ctx, destArg, "dest");
    const sha256 = checkSha256(opts.sha256);
    const mode = checkMode(opts.mode, 0o644);
    const owner = await resolveOwner(ctx, opts);
    const st = await ctx.observe.lstat(dest.real);
    if (st && st.type !== "file")
      throw new SaltyError(`${dest.path} exists and is not a regular file`, "E_NOT_FILE");
    if (st && (!sha256 || (await ctx.observe.hash(dest.real, st)) === sha256)) {
      const changes = ownership(dest.path, st, mode, owner);
      const note = sha256
        ? `already has sha256 ${sha256.slice(0, 12)}...`
        : "the file exists (no sha256 to compare)";
      return changes.length ? { changes, created: false } : { changes, created: false, note };
    }
    const changes: Change[] = st ? [] : await parents(ctx, dest.path);
    const was = st ? { was: { mode: st.mode, uid: st.uid, gid: st.gid } } : {};
    changes.push({
      kind: "download",
      path: dest.path,
      url,
      ...(sha256 ? { sha256 } : {}),
      mode,
      uid: owner.uid,
      gid: owner.gid,
      ...was,
    });
    return { changes, created: !st };
  },
};
