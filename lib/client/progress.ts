// The progress line of a long apply: "apply 40s: 12/40 hosts done, 2 failed,
// running: web7 role:app". On a TTY it is rewritten in place on stderr and
// erased before anything else is printed (and on exit and Ctrl-C); elsewhere
// (CI logs) it is one line every 10 seconds. That the master waits for its
// agents just after its start is said on any stderr.

import type { ApplyProgress } from "../wire/api.ts";

export class ProgressLine {
  private shown = false;
  private last: string | undefined;
  private loggedAt = 0;

  constructor(
    private out: { write(s: string): unknown; isTTY?: boolean },
    private everyS = 10,
  ) {}

  update(p: ApplyProgress): void {
    if (!this.out.isTTY) {
      // Off a TTY: one line per `everyS` seconds of the apply (and the waiting notice).
      const step = Math.floor(p.elapsed / this.everyS);
      if (p.waiting || (p.total > 0 && step > this.loggedAt))
        this.out.write(`${progressText(p)}\n`);
      if (!p.waiting) this.loggedAt = Math.max(this.loggedAt, step);
      return;
    }
    this.last = progressText(p);
    this.out.write(`\r\x1b[K${this.last}`);
    this.shown = true;
  }

  /** Print lines above the progress line: erased first, drawn again after. */
  around(write: () => void): void {
    const was = this.shown;
    this.clear();
    write();
    if (was && this.last) {
      this.out.write(this.last);
      this.shown = true;
    }
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
  const failed = p.failed ? `, ${p.failed} failed` : "";
  const running = p.running?.length
    ? `, running: ${p.running.join(", ")}${p.total - p.done > p.running.length ? ", ..." : ""}`
    : "";
  const b = p.batch;
  const hosts = b ? `${b.hosts} host${b.hosts === 1 ? "" : "s"}` : "";
  const batch = !b
    ? ""
    : b.startsIn
      ? `batch ${b.n}/${b.of} starts in ${b.startsIn}s (pause): ${hosts}, budget ${b.spent}/${b.budget}; `
      : `batch ${b.n}/${b.of}: ${hosts}, ${b.failed} failed, budget ${b.spent}/${b.budget}; `;
  return `apply ${Math.floor(p.elapsed)}s: ${batch}${p.done}/${p.total} hosts done${failed}${running}`;
}
