// render(src, dst, {user, group, mode, vars}): the EJS template files/src,
// rendered on the agent with the role's context plus `vars`, written to dst
// when the result differs from what dst holds.

import type { OwnerOpts, ValidateOpt } from "salty";
import { checkValidate } from "./_validate.ts";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { current, planContent } from "./_file.ts";
import { checkMode, resolveOwner } from "./_owner.ts";
import { destination, sourceFile } from "./_paths.ts";
import { renderTemplate } from "./_template.ts";
import type { OpCtx, Operator } from "./types.ts";

type RenderOpts = OwnerOpts & ValidateOpt & { vars?: Record<string, unknown> };

const encoder = new TextEncoder();

export const render: Operator<[src: string, dst: string, opts?: RenderOpts]> = {
  describe: (src, dst) => `render(${src}, ${dst})`,
  async plan(ctx: OpCtx, src, dst, opts = {}) {
    const source = sourceFile(src);
    const dest = destination(ctx, dst, "destination");
    const mode = checkMode(opts.mode, 0o644);
    const validate = checkValidate(opts.validate);
    if (
      opts.vars !== undefined &&
      (typeof opts.vars !== "object" || opts.vars === null || Array.isArray(opts.vars))
    ) {
      throw new SaltyError("vars must be an object", "E_ARG");
    }
    const owner = await resolveOwner(ctx, opts);
    const { text, secret } = await renderTemplate(ctx, source, { ...ctx.locals, ...opts.vars });
    const data = encoder.encode(text);
    const now = await current(ctx, dest);
    return planContent(
      ctx,
      dest,
      now,
      { hash: hashBytes(data), size: data.length, data, ...(secret ? { secret } : {}) },
      mode,
      owner,
      validate,
    );
  },
};
