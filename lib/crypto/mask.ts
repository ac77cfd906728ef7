// Masking of secret values in what salty shows: results (cmd, output, error,
// diff), a role's printed output, log lines. The values are the decrypted
// NACL[...] vars of the host a role runs on (the master sends them with the
// role, beside the context that already holds them). A diff line holding a
// secret is replaced whole; elsewhere each occurrence becomes MASK. Pure: no I/O.

import type { Result } from "salty";

export const MASK = "********";
/** What a diff of a file from an `.enc` source shows instead. */
export const SECRET_DIFF = "(secret content: diff not shown)\n";
/** What a `{ sensitive: true }` operator shows instead of its output and diff. */
export const SENSITIVE_OUTPUT = "(sensitive: output hidden)";
export const SENSITIVE_DIFF = "(sensitive: diff not shown)\n";

/** Lines of a multi-line secret shorter than this are not searched for on their own (a "}" would mask every brace). */
const MIN_LINE = 4;

export interface Masker {
  /** Every occurrence of a secret value replaced by MASK. */
  text(s: string): string;
  /** A unified diff: each +/-/context line holding a secret value replaced whole. */
  diff(s: string): string;
}

/** The strings searched for: each value, and each line of a multi-line value; longest first. */
function needles(values: readonly unknown[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v !== "string" || v === "") continue;
    out.add(v);
    if (!v.includes("\n")) continue;
    for (const line of v.split("\n")) if (line.trim().length >= MIN_LINE) out.add(line.trim());
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** A masker for these secret values; undefined when there is nothing to mask (the common case costs nothing). */
export function masker(values: readonly unknown[] | undefined): Masker | undefined {
  const found = needles(values ?? []);
  if (!found.length) return undefined;
  const holds = (s: string) => found.some((n) => s.includes(n));
  const text = (s: string) => {
    if (!holds(s)) return s;
    for (const n of found) if (s.includes(n)) s = s.split(n).join(MASK);
    return s;
  };
  const diff = (s: string) => {
    if (!holds(s)) return s;
    return s
      .split("\n")
      .map((line) =>
        /^[-+ ]/.test(line) && !/^(---|\+\+\+) /.test(line) && holds(line)
          ? `${line[0]}${MASK} (a line holding a secret)`
          : text(line),
      )
      .join("\n");
  };
  return { text, diff };
}

/** A copy of a result with every secret value masked in cmd, output, error and diff (a result from an agent may be any shape). */
export function maskResult(r: Result, m: Masker | undefined): Result {
  if (!m || typeof r !== "object" || r === null) return r;
  const out: Result = { ...r };
  if (typeof r.cmd === "string") out.cmd = m.text(r.cmd);
  if (typeof r.output === "string") out.output = m.text(r.output);
  if (typeof r.error === "string") out.error = m.text(r.error);
  if (typeof r.diff === "string") out.diff = m.diff(r.diff);
  return out;
}

/** A role's report (results and printed output) with every secret value masked. */
export function maskReport<T extends { results: Result[]; output?: string }>(
  report: T,
  m: Masker | undefined,
): T {
  if (!m) return report;
  const out: T = { ...report, results: report.results.map((r) => maskResult(r, m)) };
  if (typeof report.output === "string") out.output = m.text(report.output);
  return out;
}

/** `{ sensitive: true }` as an operator's last argument. */
export function isSensitive(args: readonly unknown[]): boolean {
  const last = args[args.length - 1];
  return (
    typeof last === "object" &&
    last !== null &&
    (last as { sensitive?: unknown }).sensitive === true
  );
}

/** What a sensitive operator's result shows: its call, rc, changed and counts; no output, no diff, no error detail
 * (a failed command's error may quote its output). */
export function hideSensitive(r: Result): Result {
  const out: Result = { ...r };
  if (r.output !== undefined) out.output = SENSITIVE_OUTPUT;
  if (r.diff !== undefined) out.diff = SENSITIVE_DIFF;
  if (r.error !== undefined) out.error = `${r.cmd}: failed (sensitive: error hidden)`;
  return out;
}
