// A yes/no question for the operator at a terminal: asked on stderr, the
// answer read as one line from stdin. Off a terminal there is no one to ask:
// null, and the command decides (usually: an explicit --yes is needed).

import { readSync } from "node:fs";
import { io } from "./_io.ts";

export function confirm(question: string): boolean | null {
  if (!io().stdin.isTTY || !io().stderr.isTTY) return null;
  io().stderr.write(`${question} [y/N] `);
  const buf = Buffer.alloc(256);
  let line = "";
  while (!line.includes("\n")) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Bun.sleepSync(20); // a non-blocking terminal: wait for the next keystroke
      continue;
    }
    if (n === 0) break; // end of input: no
    line += buf.toString("utf8", 0, n);
  }
  return /^y(es)?$/i.test(line.trim());
}
