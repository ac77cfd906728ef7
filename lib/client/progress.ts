// The progress line of a long apply on a TTY: "working 3s: 12/40 hosts done",
// rewritten in place on stderr and erased before the report is printed.

import type { ApplyProgress } from "../wire/api.ts";

export class ProgressLine {
  private shown = false;

  constructor(private out: { write(s: string): unknown; isTTY?: boolean }) {}

  update(p: ApplyProgress): void {
    if (!this.out.isTTY) return;
    this.out.write(`\r\x1b[K${progressText(p)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.out.write("\r\x1b[K");
    this.shown = false;
  }
}

export function progressText(p: ApplyProgress): string {
  return `working ${Math.floor(p.elapsed)}s: ${p.done}/${p.total} hosts done`;
}
