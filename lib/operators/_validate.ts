// validate: "nginx -t -c %s" on the operators that write a file (copy,
// render, file, lineInFile): the command runs on the temporary file that
// holds the new content, before the rename; only on rc 0 does it replace the
// destination. The command is split into words here (quotes honoured, nothing
// expanded, no shell), %s becomes the temporary path and %% a literal %. Pure, but for the run.

import { SaltyError } from "../errors.ts";
import type { Exec } from "../sys/types.ts";

/** Words of a command line, split like /bin/sh would (single and double quotes, backslash) with nothing expanded. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word = (word ?? "") + ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!))
        word = (word ?? "") + line[++i];
      else word = (word ?? "") + ch;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= "";
    } else if (ch === "\\") {
      if (i + 1 >= line.length)
        throw new SaltyError("validate: a command line ends with a backslash", "E_ARG");
      word = (word ?? "") + line[++i];
    } else word = (word ?? "") + ch;
  }
  if (quote)
    throw new SaltyError(
      `validate: unterminated ${quote} quote in ${JSON.stringify(line)}`,
      "E_ARG",
    );
  if (word !== undefined) out.push(word);
  return out;
}

/** A `validate` option checked while planning: a command line with %s, or undefined. */
export function checkValidate(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "")
    throw new SaltyError('validate must be a command line such as "nginx -t -c %s"', "E_ARG");
  if (value.includes("\0") || value.includes("\n"))
    throw new SaltyError("validate must be one line", "E_ARG");
  if (!validateArgv(value, "\0").some((w) => w.includes("\0")))
    throw new SaltyError(`validate must name the file to check as %s: ${value}`, "E_ARG");
  return value;
}

/** The argv that checks `tmp`: every %s replaced by its path, %% by a literal %. */
export function validateArgv(command: string, tmp: string): string[] {
  return splitWords(command).map((w) => w.replace(/%[%s]/g, (m) => (m === "%%" ? "%" : tmp)));
}

/** Run the validator on `tmp`; a non-zero rc throws with its output (the destination is left as it was). */
export async function runValidate(
  exec: Exec,
  command: string,
  tmp: string,
  signal?: AbortSignal,
): Promise<void> {
  const r = await exec(validateArgv(command, tmp), signal ? { signal } : {});
  if (r.rc !== 0) {
    const out = r.output.trim();
    throw new SaltyError(
      `validation failed (${command}, rc ${r.rc}); the file was not replaced${out ? `: ${out}` : ""}`,
      "E_VALIDATE",
    );
  }
}
