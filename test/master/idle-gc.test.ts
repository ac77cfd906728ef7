// The master's idle collection (lib/master/idle-gc.ts): once, after the last
// of several jobs in a row has ended, not after each.

import { expect, test } from "bun:test";
import { jobEnded } from "../../lib/master/idle-gc.ts";

test("jobs ending in a row make one collection, the delay after the last", async () => {
  const at: number[] = [];
  const t0 = performance.now();
  const collect = () => void at.push(performance.now() - t0);
  jobEnded(collect, 60);
  await Bun.sleep(30);
  jobEnded(collect, 60);
  await Bun.sleep(30);
  jobEnded(collect, 60); // ~60 ms after the first: each pushed the collection back
  expect(at).toEqual([]);
  for (let i = 0; i < 100 && at.length === 0; i++) await Bun.sleep(10);
  await Bun.sleep(100);
  expect(at.length).toBe(1);
  expect(at[0]!).toBeGreaterThanOrEqual(115);
});
