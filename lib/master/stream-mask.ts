// Secret values masked in output that arrives in pieces (`salty run`): a
// value split across two chunks must be masked all the same, so the end of
// a piece that is the start of a secret value is held back until the next
// piece (or the end) shows what follows. Anything else goes out at once: a
// short line is never kept waiting. With no secrets, nothing is held.
// Pure: no I/O.

import { MASK } from "../crypto/mask.ts";

export { MASK };

/** As crypto/mask.ts: each value, and each line of a multi-line value (lines under 4 characters are not searched alone). */
function needlesOf(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v === "") continue;
    out.add(v);
    if (v.includes("\n"))
      for (const line of v.split("\n")) if (line.trim().length >= 4) out.add(line.trim());
  }
  return [...out].sort((a, b) => b.length - a.length);
}

export class StreamMask {
  private held = "";
  private needles: string[];
  private longest: number;

  constructor(values: readonly string[]) {
    this.needles = needlesOf(values);
    this.longest = this.needles[0]?.length ?? 0;
  }

  /** The masked text that can be shown now. */
  push(data: string): string {
    if (this.longest === 0) return data;
    const s = this.held + data;
    let cut = s.length;
    // The longest end of s that begins some secret value is held.
    for (const n of this.needles) {
      for (let k = Math.min(n.length - 1, s.length); k > 0 && s.length - k < cut; k--) {
        if (s.endsWith(n.slice(0, k))) {
          cut = s.length - k;
          break;
        }
      }
    }
    // Never cut through an occurrence: it would be shown half unmasked.
    for (const n of this.needles) {
      for (
        let at = s.indexOf(n, Math.max(0, cut - n.length + 1));
        at !== -1 && at < cut;
        at = s.indexOf(n, at + 1)
      ) {
        if (at + n.length > cut) cut = at;
      }
    }
    this.held = s.slice(cut);
    return this.mask(s.slice(0, cut));
  }

  /** What was held back, masked: at the end of the output. */
  end(): string {
    const rest = this.mask(this.held);
    this.held = "";
    return rest;
  }

  mask(s: string): string {
    for (const n of this.needles) if (s.includes(n)) s = s.split(n).join(MASK);
    return s;
  }
}
