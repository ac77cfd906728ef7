// Argument helpers shared by apply and bootstrap.

import { UsageError } from "../lib/errors.ts";

/** Each -v or --verbose counts one, so -v -v is -vv (citty does not count repeated flags); at most 2. */
export function verbosity(rawArgs: string[]): number {
  let v = 0;
  for (const a of rawArgs) {
    if (a === "--") break;
    if (a === "--verbose") v += 1;
    else if (/^-v+$/.test(a)) v += a.length - 1;
  }
  return Math.min(v, 2);
}

const MAX_TIMEOUT_S = 86_400;

/** --timeout SECONDS: a positive number (fractions allowed), in milliseconds; absent: undefined (the default). */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = /^\s*\d*\.?\d+\s*$/.test(value) ? Number(value) : NaN;
  // A day at most: timers hold 2^31-1 ms (24.8 days), and the master waits for a host's queued roles in one timer.
  if (!(seconds > 0) || seconds > MAX_TIMEOUT_S)
    throw new UsageError(
      `--timeout must be a number of seconds above 0, at most ${MAX_TIMEOUT_S}, not ${JSON.stringify(value)}`,
    );
  return Math.ceil(seconds * 1000);
}

/** The KEY=VALUE words of the command line. */
export function assignments(positionals: string[]): string[] {
  return positionals.filter((a) => !a.startsWith("-"));
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: a number and a unit, ms, s, m or h (`30m`, `1.5h`, `500ms`); in milliseconds, at least `minMs`. */
export function parseDuration(value: string, name: string, minMs = 1): number {
  const m = /^\s*(\d*\.?\d+)\s*(ms|s|m|h)\s*$/.exec(value);
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2]!]!) : NaN;
  if (!(ms >= minMs) || ms > 30 * 86_400_000)
    throw new UsageError(
      `${name} must be a duration such as 30m, 90s, 1h or 500ms (at least ${minMs} ms, at most 30 days), not ${JSON.stringify(value)}`,
    );
  return ms;
}
