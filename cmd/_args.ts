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
  if (!(seconds > 0) || seconds > MAX_TIMEOUT_S) throw new UsageError(`--timeout must be a number of seconds from 0 to ${MAX_TIMEOUT_S}, not ${JSON.stringify(value)}`);
  return Math.ceil(seconds * 1000);
}

/** The KEY=VALUE words of the command line. */
export function assignments(positionals: string[]): string[] {
  return positionals.filter((a) => !a.startsWith("-"));
}
