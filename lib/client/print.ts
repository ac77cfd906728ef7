// Writes formatted apply lines: normal lines to stdout, failures to stderr,
// red when stderr is a terminal. The only module of lib/client that does I/O.

import type { Line } from "./format.ts";

export interface Streams {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export function printLines(lines: Line[], io: Streams): void {
  const red = io.stderr.isTTY && !process.env.NO_COLOR;
  for (const l of lines) {
    if (!l.error) io.stdout.write(l.text + "\n");
    else io.stderr.write(red ? `\x1b[31m${l.text}\x1b[39m\n` : l.text + "\n");
  }
}
