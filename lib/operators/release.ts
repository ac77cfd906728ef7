// release(dir, version, {keep}): dir/releases/VERSION exists (made when
// missing, 0755, the agent's user), the symlink dir/current points at it
// (releases/VERSION, relative; replaced atomically: made beside it, then
// renamed over it) and at most `keep` releases stay under dir/releases: the
// newest by the time they were made (mtime, then name), never the current one.
// With unarchive() or git() into dir/releases/VERSION before it: build once,
// promote the same artifact. Reads dir/releases with one walk of it.

import type { ReleaseOpts } from "salty";
import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import { parents } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { Change, OpCtx, Operator } from "./types.ts";

/** The releases to remove: all but the `keep` newest, never `current` or `version`. Pure. */
export function toPrune(
  releases: { name: string; mtimeNs: bigint }[],
  keep: number,
  version: string,
): string[] {
  const sorted = [...releases].sort((a, b) =>
    a.mtimeNs === b.mtimeNs ? (a.name < b.name ? 1 : -1) : a.mtimeNs < b.mtimeNs ? 1 : -1,
  );
  // The new release counts as the newest, whatever its mtime says.
  const ordered = [version, ...sorted.map((r) => r.name).filter((n) => n !== version)];
  return ordered.slice(keep);
}

export function checkVersion(version: unknown): string {
  if (typeof version !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/.test(version)) {
    throw new SaltyError(
      `version must be letters, digits, ".", "_", "+" or "-", not starting with a dot: ${JSON.stringify(version)}`,
      "E_ARG",
    );
  }
  return version;
}

export const release: Operator<[dir: string, version: string, opts?: ReleaseOpts]> = {
  describe: (dir, version) => `release(${dir}, ${version})`,
  async plan(ctx: OpCtx, dirArg, versionArg, opts = {}) {
    const dir = destination(ctx, dirArg, "dir");
    const version = checkVersion(versionArg);
    const keep = opts.keep ?? 5;
    if (!Number.isInteger(keep) || keep < 1)
      throw new SaltyError(
        `keep must be a positive integer: ${JSON.stringify(opts.keep)}`,
        "E_ARG",
      );
    const releases = posix.join(dir.path, "releases");
    const rel = posix.join(releases, version);
    const current = posix.join(dir.path, "current");
    const target = `releases/${version}`;
    const changes: Change[] = [];

    const st = await ctx.observe.lstat(posix.join(dir.real, "releases", version));
    if (st && st.type !== "dir")
      throw new SaltyError(`${rel} exists and is not a directory`, "E_NOT_DIR");
    if (!st) {
      const self = await ctx.users.self();
      changes.push(...(await parents(ctx, rel)), {
        kind: "mkdir",
        path: rel,
        mode: 0o755,
        uid: self.uid,
        gid: self.gid,
      });
    }
    const cur = await ctx.observe.lstat(posix.join(dir.real, "current"));
    if (cur && cur.type !== "symlink")
      throw new SaltyError(
        `${current} exists and is not a symlink; move it away first`,
        "E_NOT_LINK",
      );
    const was = cur ? await ctx.observe.readlink(posix.join(dir.real, "current")) : undefined;
    if (was !== target) changes.push({ kind: "symlink", path: current, target });

    const items = await ctx.observe.walk(posix.join(dir.real, "releases"));
    const found = items
      .filter((it) => !it.path.includes("/") && it.type === "dir")
      .map((it) => ({ name: it.path, mtimeNs: BigInt(it.mtimeNs) }));
    for (const name of toPrune(found, keep, version))
      changes.push({ kind: "remove", path: posix.join(releases, name) });

    if (!changes.length)
      return {
        changes,
        created: false,
        note: `current is ${target}, ${Math.min(found.length, keep)} release(s) kept`,
      };
    return { changes, created: !st, summary: `switch current ${was ?? "(none)"} -> ${target}` };
  },
};
