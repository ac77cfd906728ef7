// Archives for unarchive(): the format from the name, the checks of an
// archive's entries (pure, tested on captured listings), and the apply step of
// an `unarchive` change. The system's tar (GNU, or bsdtar) and unzip do the
// extracting, through the Exec port; before anything lands in the destination:
// the listing is checked (no absolute name, no "..", no device, no hard link
// out), the archive is extracted into a staging directory beside it, every
// symlink there must resolve inside it, and only then are the entries moved
// into place, the marker (.salty-unarchive, the archive's hash) last.

import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import { hashFile } from "../sys/hash.ts";
import { walkTree } from "../sys/walk.ts";
import { realPath } from "./_paths.ts";
import type { ArchiveFormat, Change, OpCtx } from "./types.ts";

/** The file in the destination that says which archive it holds. */
export const MARKER = ".salty-unarchive";

/** An archive's format from its name; anything else throws. Pure. */
export function archiveFormat(name: string): ArchiveFormat {
  if (/\.(tar\.gz|tgz)$/i.test(name)) return "tar.gz";
  if (/\.(tar\.xz|txz)$/i.test(name)) return "tar.xz";
  if (/\.zip$/i.test(name)) return "zip";
  throw new SaltyError(`${name}: not a .tar.gz, .tgz, .tar.xz or .zip archive`, "E_ARG");
}

/** Why an entry name would land outside the destination, or undefined. Pure. */
export function escapes(name: string): string | undefined {
  if (name.startsWith("/")) return "is absolute";
  if (name.split("/").includes("..")) return 'goes up with ".."';
  return undefined;
}

/** Does the link `target`, found at `linkPath` (relative to the root), stay inside the root? Pure. */
export function linkInside(linkPath: string, target: string): boolean {
  if (target.startsWith("/")) return false;
  let depth = linkPath.split("/").length - 1;
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    depth += part === ".." ? -1 : 1;
    if (depth < 0) return false;
  }
  return true;
}

/**
 * The checks of a tar listing: `names` from `tar -tf`, `verbose` from `tar -tvf`
 * (the same entries in the same order). Returns the first refusal, or undefined. Pure.
 */
export function checkTarListing(names: string[], verbose: string[]): string | undefined {
  if (names.length !== verbose.length)
    return `the listing could not be read (${names.length} names, ${verbose.length} entries)`;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!,
      line = verbose[i]!;
    const why = escapes(name);
    if (why) return `entry ${JSON.stringify(name)} ${why}`;
    const type = line[0];
    if (type === "-" || type === "d") continue;
    const at = line.lastIndexOf(type === "l" ? `${name} -> ` : `${name} link to `);
    if (type !== "l" && type !== "h")
      return `entry ${JSON.stringify(name)} is a device or special file`;
    if (at < 0) return `entry ${JSON.stringify(name)}: its link target could not be read`;
    const target = line.slice(at + name.length + (type === "l" ? 4 : 9));
    if (type === "l" && !linkInside(name.replace(/\/$/, ""), target))
      return `entry ${JSON.stringify(name)} is a link out of the destination (-> ${target})`;
    if (type === "h" && escapes(target))
      return `entry ${JSON.stringify(name)} is a hard link out of the destination (${target})`;
  }
  return undefined;
}

/** Lines of a command's output, without the empty last one. Pure. */
const lines = (s: string) => s.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);

async function run(ctx: OpCtx, argv: string[], what: string): Promise<string> {
  const r = await ctx.exec(argv, ctx.signal ? { signal: ctx.signal } : {});
  if (r.rc !== 0)
    throw new SaltyError(`${what} failed (rc ${r.rc}): ${r.output.trim()}`, "E_ARCHIVE");
  return r.output;
}

const TAR_FLAG = { "tar.gz": "-z", "tar.xz": "-J" } as const;

/** A listing through the probe port (read-only; stdout apart from tar's warnings; LC_ALL=C: "link to" in English). */
async function list(ctx: OpCtx, argv: string[]): Promise<string[]> {
  const r = await ctx.probe.run(argv, { timeoutMs: 300_000 });
  if (r.rc !== 0)
    throw new SaltyError(
      `listing the archive failed (rc ${r.rc}): ${r.stderr.trim()}`,
      "E_ARCHIVE",
    );
  return lines(r.stdout);
}

/** Refuses an archive whose entries would escape, before anything is extracted. */
async function checkEntries(ctx: OpCtx, archive: string, format: ArchiveFormat): Promise<void> {
  let refusal: string | undefined;
  if (format === "zip") {
    for (const name of await list(ctx, ["unzip", "-Z1", archive])) {
      const why = escapes(name);
      if (why) refusal ??= `entry ${JSON.stringify(name)} ${why}`;
    }
  } else {
    const flag = TAR_FLAG[format];
    refusal = checkTarListing(
      await list(ctx, ["tar", flag, "-tf", archive]),
      await list(ctx, ["tar", flag, "-tvf", archive]),
    );
  }
  if (refusal)
    throw new SaltyError(`refused: ${refusal}; nothing was extracted`, "E_ARCHIVE_ESCAPE");
}

/** Carry out an `unarchive` change. */
export async function unarchiveInto(
  ctx: OpCtx,
  c: Extract<Change, { kind: "unarchive" }>,
  real: string,
): Promise<void> {
  const archive = realPath(ctx, c.archive);
  const staging = posix.join(
    posix.dirname(real),
    `.${posix.basename(real).slice(0, 160)}.salty-unpack`,
  );
  try {
    const got = await hashFile(archive);
    if (got !== c.hash)
      throw new SaltyError(
        `${c.archive} changed since it was planned (sha256 ${got}, expected ${c.hash}); nothing was extracted`,
        "E_CHANGED",
      );
    await checkEntries(ctx, archive, c.format);
    await ctx.disk.remove(staging);
    await ctx.disk.mkdir(staging, 0o700);
    if (c.format === "zip") await run(ctx, ["unzip", "-q", "-o", archive, "-d", staging], "unzip");
    else
      await run(
        ctx,
        ["tar", TAR_FLAG[c.format], "-xf", archive, "-C", staging, "--no-same-owner"],
        "tar",
      );
    const items = walkTree(staging, { owners: false });
    for (const it of items) {
      if (it.type === "symlink" && !linkInside(it.path, it.target ?? "/"))
        throw new SaltyError(
          `refused: ${it.path} is a link out of the destination (-> ${it.target}); nothing was extracted`,
          "E_ARCHIVE_ESCAPE",
        );
    }
    // Each top-level entry replaces the one of the same name; the marker goes last.
    const top = items.filter((it) => !it.path.includes("/") && it.path !== MARKER);
    for (const it of top) {
      await ctx.disk.remove(posix.join(real, it.path));
      await ctx.disk.rename(posix.join(staging, it.path), posix.join(real, it.path));
    }
    const markerTmp = posix.join(staging, MARKER);
    const self = await ctx.users.self();
    const h = await ctx.disk.create(markerTmp, 0o644, { uid: self.uid, gid: self.gid });
    await h.write(new TextEncoder().encode(`${c.hash}\n`));
    await h.close();
    await ctx.disk.rename(markerTmp, posix.join(real, MARKER));
  } finally {
    await ctx.disk.remove(staging).catch(() => {});
    if (c.temporary) await ctx.disk.remove(archive).catch(() => {});
  }
}
