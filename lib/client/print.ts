// Writes formatted apply lines: a host's lines to stdout, or all to stderr
// when it failed; failures red and diff lines coloured when their stream is
// a terminal (plain when piped or with NO_COLOR). The only module of
// lib/client that does I/O.

import type { Line } from "./format.ts";

export interface Streams {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** The environment whose NO_COLOR counts (default: the process's). */
  env?: Record<string, string | undefined>;
}

/** ANSI foreground colours of diff lines: + green, - red, @@ cyan. */
const TONES = { add: 32, remove: 31, hunk: 36 } as const;

/** Consecutive lines of one stream leave in one write (200 hosts' ping lines: one write(2), not 200); the order across the streams is kept. */
export function printLines(lines: Line[], io: Streams): void {
  const noColor = !!(io.env ?? process.env).NO_COLOR;
  const colourErr = io.stderr.isTTY && !noColor;
  const colourOut = io.stdout.isTTY && !noColor;
  let to: Streams["stdout"] | undefined;
  let pending = "";
  for (const l of lines) {
    const tty = l.error ? colourErr : colourOut;
    const code = l.tone ? TONES[l.tone] : l.error && (l.red ?? true) ? 31 : undefined;
    const out = l.error ? io.stderr : io.stdout;
    if (out !== to && pending) {
      to?.write(pending);
      pending = "";
    }
    to = out;
    pending += tty && code ? `\x1b[${code}m${l.text}\x1b[39m\n` : l.text + "\n";
  }
  if (pending) to?.write(pending);
}
