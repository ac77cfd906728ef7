import { describe, expect, test } from "bun:test";
import { RateLimiter } from "../../lib/wire/rate.ts";

describe("RateLimiter", () => {
  test("a burst, then one per interval, per key", () => {
    const r = new RateLimiter(3, () => 100);
    expect([0, 0, 0, 0].map(() => r.take("a", 1000))).toEqual([true, true, true, false]);
    expect(r.take("b", 1000)).toBe(true); // another address has its own bucket
    expect(r.take("a", 1050)).toBe(false);
    expect(r.take("a", 1100)).toBe(true);
    expect(r.take("a", 1100)).toBe(false);
    expect([0, 0, 0, 0].map(() => r.take("a", 5000))).toEqual([true, true, true, false]); // refills up to the burst only
  });

  test("a token given back can be spent again, never past the burst", () => {
    const r = new RateLimiter(2, () => 60_000);
    expect([r.take("a", 0), r.take("a", 0), r.take("a", 0)]).toEqual([true, true, false]);
    r.give("a", 0);
    expect([r.take("a", 0), r.take("a", 0)]).toEqual([true, false]);
    for (let i = 0; i < 5; i++) r.give("a", 0);
    expect([r.take("a", 0), r.take("a", 0), r.take("a", 0)]).toEqual([true, true, false]);
    r.give("unknown", 0); // nothing spent there: nothing to give back
    expect([r.take("unknown", 0), r.take("unknown", 0), r.take("unknown", 0)]).toEqual([
      true,
      true,
      false,
    ]);
  });
});
