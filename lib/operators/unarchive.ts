// unarchive(src, destDir, {sha256}): destDir holds what the archive holds.
// `src` is a file of the fileroot (relative to files/, like copy's) or an
// absolute path on the host (under --path like every destination: a file a
// download() put there). Idempotent by the archive's hash: the marker
// destDir/.salty-unarchive holds the hash of the archive extracted there, and
// a marker that matches means nothing to do (the files are not compared).
// Carried out by an `unarchive` change (_archive.ts), after a fetch of a fileroot
// archive beside destDir.

import type { UnarchiveOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { MARKER, archiveFormat } from "./_archive.ts";
import { parents } from "./_owner.ts";
import { destination, sourceFile } from "./_paths.ts";
import { fetchSource } from "./copy.ts";
import { checkSha256 } from "./download.ts";
import type { Change, OpCtx, Operator } from "./types.ts";
import { posix } from "node:path";

const decoder = new TextDecoder();

export const unarchive: Operator<[src: string, destDir: string, opts?: UnarchiveOpts]> = {
  describe: (src, destDir) => `unarchive(${src}, ${destDir})`,
  async plan(ctx: OpCtx, srcArg, destArg, opts = {}) {
    const format = archiveFormat(String(srcArg));
    const sha256 = checkSha256(opts.sha256);
    const dest = destination(ctx, destArg, "destDir");
    const changes: Change[] = [];
    const st = await ctx.observe.lstat(dest.real);
    if (st && st.type !== "dir")
      throw new SaltyError(`${dest.path} exists and is not a directory`, "E_NOT_DIR");
    const markerSt = st ? await ctx.observe.lstat(`${dest.real}/${MARKER}`) : undefined;
    const had =
      markerSt?.type === "file"
        ? decoder.decode(await ctx.observe.read(`${dest.real}/${MARKER}`)).trim()
        : undefined;

    // The archive's hash, and where it will be on this host.
    let hash: string, archive: string, fetch: Change | undefined;
    if (typeof srcArg === "string" && srcArg.startsWith("/")) {
      const src = destination(ctx, srcArg, "src");
      const st = await ctx.observe.stat(src.real);
      if (st?.type !== "file") throw new SaltyError(`no such archive: ${src.path}`, "E_NO_SOURCE");
      hash = await ctx.observe.hash(src.real, st);
      archive = src.path;
    } else {
      const src = sourceFile(srcArg);
      // The marker's hash as what we hold: an unchanged archive is not sent.
      const f = await fetchSource(ctx.files, src, had);
      hash = f.hash;
      archive = posix.join(
        posix.dirname(dest.path),
        `.${posix.basename(dest.path).slice(0, 160)}.salty-archive`,
      );
      const self = await ctx.users.self();
      fetch = {
        kind: "fetch",
        path: archive,
        src,
        size: f.size,
        hash,
        mode: 0o600,
        uid: self.uid,
        gid: self.gid,
      };
    }
    if (sha256 && hash !== sha256)
      throw new SaltyError(
        `${srcArg} has sha256 ${hash}, expected ${sha256}; nothing was extracted`,
        "E_CHECKSUM",
      );
    if (had === hash)
      return {
        changes,
        created: false,
        note: `already extracted (sha256 ${hash.slice(0, 12)}...)`,
      };
    if (!st) {
      const self = await ctx.users.self();
      changes.push(...(await parents(ctx, dest.path)), {
        kind: "mkdir",
        path: dest.path,
        mode: 0o755,
        uid: self.uid,
        gid: self.gid,
      });
    }
    if (fetch) changes.push(fetch);
    changes.push({
      kind: "unarchive",
      path: dest.path,
      archive,
      format,
      hash,
      ...(fetch ? { temporary: true as const } : {}),
    });
    return {
      changes,
      created: !st,
      summary: `extract ${srcArg} (sha256 ${hash.slice(0, 12)}...) into ${dest.path}`,
    };
  },
};
