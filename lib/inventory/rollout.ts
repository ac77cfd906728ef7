// A rollout's options and its pure arithmetic: the apply words batch=,
// max_fail=, gate=, gate_timeout=, gate_retries= and pause= (reserved, as
// target=/roles=/skip=), the batches they cut the hosts into, and the one
// failure budget of the whole rollout. The rollout itself (lib/master/
// rollout.ts) runs the batches. Pure: no I/O. Bad input is a UsageError.

import { UsageError } from "../errors.ts";

/** A count of hosts, or a percentage of the rollout's hosts. */
export type Size = { n: number } | { pct: number };

export interface RolloutOptions {
  /** Batch sizes in order; the last one repeats until every host had its turn. */
  batch: Size[];
  /** The rollout stops starting batches once this many hosts have failed (default 1). */
  maxFail: Size;
  /** A shell command run on each host after its apply; a failure (after the retries) fails the host. */
  gate?: string;
  gateTimeoutMs: number;
  /** Attempts after the first one (each after timing.gateRetryMs). */
  gateRetries: number;
  /** Wait between two batches. */
  pauseMs: number;
}

export const ROLLOUT_KEYS = [
  "batch",
  "max_fail",
  "gate",
  "gate_timeout",
  "gate_retries",
  "pause",
] as const;
export type RolloutKey = (typeof ROLLOUT_KEYS)[number];

export const ROLLOUT_DEFAULTS = { gateTimeoutMs: 10_000, gateRetries: 2, pauseMs: 0 } as const;

const PCT = /^([0-9]+(?:\.[0-9]+)?)%$/;
const INT = /^[0-9]+$/;

export function parseSize(key: string, text: string): Size {
  const pct = PCT.exec(text);
  if (pct) {
    const v = Number(pct[1]);
    if (v > 0 && v <= 100) return { pct: v };
  } else if (INT.test(text)) {
    const n = Number(text);
    if (n >= 1 && Number.isSafeInteger(n)) return { n };
  }
  throw new UsageError(
    `${key}=${text}: a number of hosts (1 or more) or a percentage (above 0%, at most 100%)`,
  );
}

/** `30s`, `2m`, `500ms`, `1h`, or a number of seconds. */
export function parseDuration(key: string, text: string, maxMs: number): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? "s") as "ms"];
  const ms = m ? Math.round(Number(m[1]) * unit) : NaN;
  if (!(ms >= 0 && ms <= maxMs))
    throw new UsageError(
      `${key}=${text}: a duration such as 30s, 2m or 500ms (at most ${maxMs / 1000}s)`,
    );
  return ms;
}

/** The rollout words of an apply (raw values, as typed), or undefined when there are none. */
export function parseRollout(raw: Partial<Record<RolloutKey, string>>): RolloutOptions | undefined {
  if (Object.keys(raw).length === 0) return undefined;
  for (const k of ["gate_timeout", "gate_retries"] as const) {
    if (raw[k] !== undefined && raw.gate === undefined)
      throw new UsageError(`${k}= needs gate=CMD (the health check it applies to)`);
  }
  const opts: RolloutOptions = { batch: [{ pct: 100 }], maxFail: { n: 1 }, ...ROLLOUT_DEFAULTS };
  if (raw.batch !== undefined) {
    const items = raw.batch.split(",").map((s) => s.trim());
    if (items.some((s) => s === ""))
      throw new UsageError(`batch=${raw.batch}: sizes separated by commas (batch=1,10%,100%)`);
    opts.batch = items.map((s) => parseSize("batch", s));
  }
  if (raw.max_fail !== undefined) opts.maxFail = parseSize("max_fail", raw.max_fail);
  if (raw.gate !== undefined) {
    if (raw.gate.trim() === "")
      throw new UsageError(`gate= needs a command (gate="curl -sf localhost/health")`);
    opts.gate = raw.gate;
  }
  if (raw.gate_timeout !== undefined) {
    opts.gateTimeoutMs = parseDuration("gate_timeout", raw.gate_timeout, 3_600_000);
    if (opts.gateTimeoutMs < 1)
      throw new UsageError(`gate_timeout=${raw.gate_timeout}: more than 0`);
  }
  if (raw.gate_retries !== undefined) {
    if (!INT.test(raw.gate_retries) || Number(raw.gate_retries) > 100)
      throw new UsageError(`gate_retries=${raw.gate_retries}: a number of retries from 0 to 100`);
    opts.gateRetries = Number(raw.gate_retries);
  }
  if (raw.pause !== undefined) opts.pauseMs = parseDuration("pause", raw.pause, 86_400_000);
  return opts;
}

/** A size as a count of the rollout's `total` hosts: a percentage rounds up, never below 1. */
export function sizeOf(size: Size, total: number): number {
  if ("n" in size) return size.n;
  return Math.max(1, Math.ceil((total * size.pct) / 100 - 1e-9));
}

/** The hosts cut into batches, in their order: each size in turn, the last one repeated. */
export function batches<T>(items: readonly T[], spec: readonly Size[]): T[][] {
  const out: T[][] = [];
  for (let i = 0, k = 0; i < items.length; k++) {
    const n = sizeOf(spec[Math.min(k, spec.length - 1)]!, items.length);
    out.push(items.slice(i, i + n));
    i += n;
  }
  return out;
}

/** One failure budget for the whole rollout: spent when `max` hosts have failed. */
export class FailureBudget {
  readonly max: number;
  private failed: string[] = [];

  constructor(maxFail: Size, total: number) {
    this.max = sizeOf(maxFail, total);
  }

  fail(host: string): void {
    if (!this.failed.includes(host)) this.failed.push(host);
  }

  get spent(): number {
    return this.failed.length;
  }

  get exhausted(): boolean {
    return this.failed.length >= this.max;
  }

  get hosts(): readonly string[] {
    return this.failed;
  }
}
