// lineInFile(line, path, {user, group, mode, replace, regexp, state,
// insertAfter, insertBefore, validate}): `line` is a whole line of path
// (created if missing). If it is not there: the last line matching `regexp`
// is replaced by it, else the first whole line equal to `replace`, else it is
// inserted after the last line matching `insertAfter` (or before the last
// matching `insertBefore`), else appended (after a newline, if the file lacked
// a final one). `state: "absent"`: every line equal to `line` (or matching
// `regexp`) is removed; a missing file stays missing.

import type { LineOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { current, planContent } from "./_file.ts";
import { checkMode, resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import { checkValidate } from "./_validate.ts";
import type { OpCtx, Operator } from "./types.ts";

/** The edit, checked: regexps compiled. */
export interface LineEdit {
  replace?: string;
  regexp?: RegExp;
  absent?: boolean;
  insertAfter?: RegExp | "EOF";
  insertBefore?: RegExp | "BOF";
}

function lastMatch(lines: string[], re: RegExp): number {
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i]!)) return i;
  return -1;
}

/** The new text, or undefined when nothing is to change (pure). `edit` may be the older `replace` string alone. */
export function editLines(
  text: string,
  line: string,
  edit: LineEdit | string | undefined = {},
): string | undefined {
  const e: LineEdit = typeof edit === "string" ? { replace: edit } : (edit ?? {});
  const lines = text === "" ? [] : text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  if (e.absent) {
    const kept = lines.filter((l) => (e.regexp ? !e.regexp.test(l) : l !== line));
    return kept.length === lines.length ? undefined : kept.length ? `${kept.join("\n")}\n` : "";
  }
  const matched = e.regexp ? lastMatch(lines, e.regexp) : -1;
  if (matched >= 0) {
    if (lines[matched] === line) return undefined;
    lines[matched] = line;
    return `${lines.join("\n")}\n`;
  }
  if (lines.includes(line)) return undefined;
  const at = e.replace ? lines.indexOf(e.replace) : -1;
  if (at >= 0) lines[at] = line;
  else if (e.insertBefore === "BOF") lines.unshift(line);
  else if (e.insertBefore) {
    const i = lastMatch(lines, e.insertBefore);
    lines.splice(i >= 0 ? i : lines.length, 0, line);
  } else if (e.insertAfter && e.insertAfter !== "EOF") {
    const i = lastMatch(lines, e.insertAfter);
    lines.splice(i >= 0 ? i + 1 : lines.length, 0, line);
  } else lines.push(line);
  return `${lines.join("\n")}\n`;
}

function checkLine(value: unknown, what: string): string {
  if (typeof value !== "string") throw new SaltyError(`${what} must be a string`, "E_ARG");
  if (value.includes("\n"))
    throw new SaltyError(`${what} must be one line (it contains a newline)`, "E_ARG");
  return value;
}

function checkRegexp(value: unknown, what: string): RegExp | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "")
    throw new SaltyError(`${what} must be a regular expression as a string`, "E_ARG");
  try {
    return new RegExp(value);
  } catch (err) {
    throw new SaltyError(
      `${what} is not a valid regular expression: ${(err as Error).message}`,
      "E_ARG",
    );
  }
}

/** The options checked; `key` names them for the cache of files known to need nothing. */
function checkEdit(opts: LineOpts): { edit: LineEdit; key: string } {
  if (opts.state !== undefined && opts.state !== "present" && opts.state !== "absent")
    throw new SaltyError(
      `state must be "present" or "absent", not ${JSON.stringify(opts.state)}`,
      "E_ARG",
    );
  if (opts.insertAfter !== undefined && opts.insertBefore !== undefined)
    throw new SaltyError("give insertAfter or insertBefore, not both", "E_ARG");
  const edit: LineEdit = {};
  if (opts.replace !== undefined) edit.replace = checkLine(opts.replace, "replace");
  const re = checkRegexp(opts.regexp, "regexp");
  if (re) edit.regexp = re;
  if (opts.state === "absent") edit.absent = true;
  if (opts.insertAfter !== undefined)
    edit.insertAfter =
      opts.insertAfter === "EOF" ? "EOF" : checkRegexp(opts.insertAfter, "insertAfter")!;
  if (opts.insertBefore !== undefined)
    edit.insertBefore =
      opts.insertBefore === "BOF" ? "BOF" : checkRegexp(opts.insertBefore, "insertBefore")!;
  const key = JSON.stringify([
    opts.replace,
    opts.regexp,
    opts.state,
    opts.insertAfter,
    opts.insertBefore,
  ]);
  return { edit, key };
}

async function readText(ctx: OpCtx, real: string, exists: boolean): Promise<string> {
  return exists ? new TextDecoder().decode(await ctx.observe.read(real)) : "";
}

function describeOpts(opts: LineOpts | undefined): string {
  if (!opts) return "";
  const parts: string[] = [];
  if (opts.state === "absent") parts.push("absent");
  for (const k of ["replace", "regexp", "insertAfter", "insertBefore"] as const)
    if (opts[k] !== undefined) parts.push(`${k === "replace" ? "replace" : k}=${opts[k]}`);
  return parts.length ? `, ${parts.join(", ")}` : "";
}

export const lineInFile: Operator<[line: string, path: string, opts?: LineOpts]> = {
  describe: (line, path, opts) => `lineInFile(${path}, ${line}${describeOpts(opts)})`,
  async plan(ctx: OpCtx, line, path, opts = {}) {
    checkLine(line, "line");
    const { edit, key } = checkEdit(opts);
    const validate = checkValidate(opts.validate);
    const dest = destination(ctx, path);
    const mode = checkMode(opts.mode, 0o644);
    const owner = await resolveOwner(ctx, opts);
    const now = await current(ctx, dest);
    if (now.st && now.st.type !== "file")
      throw new SaltyError(`${dest.path} is not a regular file`, "E_NOT_FILE");
    if (!now.st && edit.absent)
      return { changes: [], created: false, note: "no such file: the line is not there" };
    // Unchanged content already known to need nothing is not read again.
    const known = now.have && `${now.have}\0${line}\0${key}`;
    const text =
      known && ctx.cache.lines.has(known)
        ? undefined
        : editLines(await readText(ctx, dest.real, now.st !== undefined), line, edit);
    const data = text === undefined ? undefined : new TextEncoder().encode(text);
    const content = data
      ? { hash: hashBytes(data), size: data.length, data }
      : { hash: now.have!, size: now.st!.size };
    if (known && !data) ctx.cache.lines.set(known, true);
    const plan = await planContent(ctx, dest, now, content, mode, owner, validate);
    if (!plan.changes.length)
      plan.note = edit.absent
        ? "the line is not there; mode and owner match"
        : "the line is there; mode and owner match";
    return plan;
  },
};
