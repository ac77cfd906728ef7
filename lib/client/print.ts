// Writes formatted apply lines: normal lines to stdout, failures to stderr,
// red when stderr is a terminal; diff lines coloured when stdout is one
// (plain when piped or with NO_COLOR). The only module of lib/client that does I/O.

import type { Line } from "./format.ts";

export interface Streams {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** ANSI foreground colours of diff lines: + green, - red, @@ cyan. */
const TONES = { add: 32, remove: 31, hunk: 36 } as const;

export function printLines(lines: Line[], io: Streams): void {
  const red = io.stderr.isTTY && !process.env.NO_COLOR;
  const tones = io.stdout.isTTY && !process.env.NO_COLOR;
  for (const l of lines) {
    if (!l.error) io.stdout.write(tones && l.tone ? `\x1b[${TONES[l.tone]}m${l.text}\x1b[39m\n` : l.text + "\n");
    else io.stderr.write(red ? `\x1b[31m${l.text}\x1b[39m\n` : l.text + "\n");
  }
}
