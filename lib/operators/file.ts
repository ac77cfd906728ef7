// file(path, {content, user, group, mode, validate}): path holds exactly
// `content` (text given inline by the role), with that owner and mode;
// written atomically like copy (the shared plan of _file.ts).

import type { FileOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { current, planContent } from "./_file.ts";
import { checkMode, resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import { checkValidate } from "./_validate.ts";
import type { OpCtx, Operator } from "./types.ts";

const encoder = new TextEncoder();

export const file: Operator<[path: string, opts: FileOpts]> = {
  describe: (path) => `file(${path})`,
  async plan(ctx: OpCtx, path, opts) {
    if (!opts || typeof opts !== "object")
      throw new SaltyError("file needs its options: { content }", "E_ARG");
    if (typeof opts.content !== "string") throw new SaltyError("content must be a string", "E_ARG");
    const dest = destination(ctx, path);
    const mode = checkMode(opts.mode, 0o644);
    const validate = checkValidate(opts.validate);
    const owner = await resolveOwner(ctx, opts);
    const data = encoder.encode(opts.content);
    const now = await current(ctx, dest);
    if (now.st && now.st.type !== "file" && now.st.type !== "symlink")
      throw new SaltyError(`${dest.path} is not a regular file`, "E_NOT_FILE");
    return planContent(
      ctx,
      dest,
      now,
      { hash: hashBytes(data), size: data.length, data },
      mode,
      owner,
      validate,
    );
  },
};
