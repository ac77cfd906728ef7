// Figures of the benchmark: median and range of repeated measurements, and
// the plain-text table it prints. Bench-only.

export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function figure(samples: number[]): Figure {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: s.length };
}

/** Seconds as "12.3 ms" or "4.56 s". */
export function secs(t: number): string {
  if (!Number.isFinite(t)) return "-";
  if (t < 1) return `${(t * 1000).toFixed(t < 0.01 ? 2 : 1)} ms`;
  return `${t.toFixed(2)} s`;
}

/** A figure of seconds: "median (min–max)". */
export function range(f: Figure | undefined): string {
  if (!f || f.runs === 0) return "-";
  return f.runs === 1 ? secs(f.median) : `${secs(f.median)} (${secs(f.min)}–${secs(f.max)})`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [
    line(rows[0]!),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.slice(1).map(line),
  ].join("\n");
}
