// Argument helpers shared by apply and bootstrap.

/** -v → 1, -vv → 2, --verbose → 1 (citty does not count repeated flags). */
export function verbosity(rawArgs: string[]): number {
  let v = 0;
  for (const a of rawArgs) {
    if (a === "--verbose") v = Math.max(v, 1);
    else if (/^-v+$/.test(a)) v = Math.max(v, a.length - 1);
  }
  return Math.min(v, 2);
}

/** The KEY=VALUE words of the command line. */
export function assignments(positionals: string[]): string[] {
  return positionals.filter((a) => !a.startsWith("-"));
}
