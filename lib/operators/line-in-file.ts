// lineInFile(line, path, {user, group, mode, replace}): `line` is a whole line
// of path (created if missing). If it is not there, the first whole line equal
// to `replace` is replaced by it, else it is appended (after a newline, if the
// file lacked a final one).

import type { OwnerOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { current, planContent } from "./_file.ts";
import { checkMode, resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { OpCtx, Operator } from "./types.ts";

type LineOpts = OwnerOpts & { replace?: string };

/** The new text, or undefined when `line` is already a whole line of `text` (pure). */
export function editLines(text: string, line: string, replace: string | undefined): string | undefined {
  const lines = text === "" ? [] : text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  if (lines.includes(line)) return undefined;
  const at = replace ? lines.indexOf(replace) : -1;
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return `${lines.join("\n")}\n`;
}

function checkLine(value: unknown, what: string): string {
  if (typeof value !== "string") throw new SaltyError(`${what} must be a string`, "E_ARG");
  if (value.includes("\n")) throw new SaltyError(`${what} must be one line (it contains a newline)`, "E_ARG");
  return value;
}

async function readText(ctx: OpCtx, real: string, exists: boolean): Promise<string> {
  return exists ? new TextDecoder().decode(await ctx.observe.read(real)) : "";
}

export const lineInFile: Operator<[line: string, path: string, opts?: LineOpts]> = {
  describe: (line, path, opts) => `lineInFile(${path}, ${line}${opts?.replace ? `, replace=${opts.replace}` : ""})`,
  async plan(ctx: OpCtx, line, path, opts = {}) {
    checkLine(line, "line");
    const replace = opts.replace === undefined ? undefined : checkLine(opts.replace, "replace");
    const dest = destination(ctx, path);
    const mode = checkMode(opts.mode, 0o644);
    const owner = await resolveOwner(ctx, opts);
    const now = await current(ctx, dest);
    if (now.st && now.st.type !== "file") throw new SaltyError(`${dest.path} is not a regular file`, "E_NOT_FILE");
    // Unchanged content already known to hold the line is not read again.
    const known = now.have && `${now.have}\0${line}\0${replace ?? ""}`;
    const text = known && ctx.cache.lines.has(known) ? undefined : editLines(await readText(ctx, dest.real, now.st !== undefined), line, replace);
    const data = text === undefined ? undefined : new TextEncoder().encode(text);
    const content = data ? { hash: hashBytes(data), size: data.length, data } : { hash: now.have!, size: now.st!.size };
    if (known && !data) ctx.cache.lines.set(known, true);
    const plan = await planContent(ctx, dest, now, content, mode, owner);
    if (!plan.changes.length) plan.note = "the line is there; mode and owner match";
    return plan;
  },
};
