// Token buckets by key (a source address): `burst` events at once, then one
// every `refillMs`. For what strangers can make the master do: handshakes,
// new pending keys. Bounded: past `maxKeys` buckets the full ones are
// forgotten (a full bucket is what a new one would be), then the oldest.
// Pure: the caller gives the time.

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly refillMs: () => number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Spend one token of `key`'s bucket; false when it is empty (the event must be refused). */
  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = this.level(b, now);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Give back a token `take` spent (up to the burst): the event turned out to be one the limit is not for. */
  give(key: string, now = Date.now()): void {
    const b = this.buckets.get(key);
    if (!b) return;
    b.tokens = Math.min(this.burst, this.level(b, now) + 1);
    b.at = now;
  }

  private level(b: { tokens: number; at: number }, now: number): number {
    return Math.min(this.burst, b.tokens + Math.max(0, now - b.at) / Math.max(1, this.refillMs()));
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (this.level(b, now) >= this.burst) this.buckets.delete(k);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys / 2) break;
      this.buckets.delete(k);
    }
  }
}
