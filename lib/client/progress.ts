// The progress line of a long apply on a TTY: "working 3s: 12/40 hosts done",
// rewritten in place on stderr and erased before the report is printed. That
// the master waits for its agents just after its start is said on any stderr
// (one line when it is not a TTY).

import type { ApplyProgress } from "../wire/api.ts";

export class ProgressLine {
  private shown = false;

  constructor(private out: { write(s: string): unknown; isTTY?: boolean }) {}

  update(p: ApplyProgress): void {
    if (!this.out.isTTY) {
      if (p.waiting) this.out.write(`${progressText(p)}\n`);
      return;
    }
    this.out.write(`\r\x1b[K${progressText(p)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.out.write("\r\x1b[K");
    this.shown = false;
  }
}

export function progressText(p: ApplyProgress): string {
  if (p.waiting) {
    const { agents, ms } = p.waiting;
    return `waiting up to ${(ms / 1000).toFixed(1)}s for ${agents} known agent${agents === 1 ? "" : "s"} to reconnect (the master has just started)`;
  }
  return `working ${Math.floor(p.elapsed)}s: ${p.done}/${p.total} hosts done`;
}
