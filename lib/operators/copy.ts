// copy(src, dst, {user, group, mode}): files/src from the master to dst. The
// hash of what dst holds is sent along, so unchanged content costs one small
// round trip and no transfer; big files are pulled in chunks when applied.

import type { OwnerOpts, ValidateOpt } from "salty";
import { checkValidate } from "./_validate.ts";
import { SaltyError } from "../errors.ts";
import { current, planContent } from "./_file.ts";
import { checkMode, resolveOwner } from "./_owner.ts";
import { destination, sourceFile } from "./_paths.ts";
import type { OpCtx, Operator } from "./types.ts";
import type { FileSource, SourceFile } from "./file-source.ts";

/** Ask the master for a fileroot file; its errors keep their message ("no such file in the fileroot: ..."). */
export async function fetchSource(
  files: FileSource,
  path: string,
  have: string | undefined,
): Promise<SourceFile> {
  const got = await files.fetch(path, have);
  if (typeof got?.hash !== "string" || typeof got.size !== "number")
    throw new SaltyError(`bad reply for ${path}`, "E_PROTOCOL");
  return got;
}

export const copy: Operator<[src: string, dst: string, opts?: OwnerOpts & ValidateOpt]> = {
  describe: (src, dst) => `copy(${src}, ${dst})`,
  async plan(ctx: OpCtx, src, dst, opts = {}) {
    const source = sourceFile(src);
    const dest = destination(ctx, dst, "destination");
    const mode = checkMode(opts.mode, 0o644);
    const validate = checkValidate(opts.validate);
    const owner = await resolveOwner(ctx, opts);
    const now = await current(ctx, dest);
    const got = await fetchSource(ctx.files, source, now.have);
    const content = {
      hash: got.hash,
      size: got.size,
      ...(got.data ? { data: got.data } : { src: source }),
      ...(got.secret ? { secret: true } : {}),
    };
    return planContent(ctx, dest, now, content, mode, owner, validate);
  },
};
