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
});
