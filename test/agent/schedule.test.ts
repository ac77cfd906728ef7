// The scheduled apply's slot (lib/agent/schedule.ts) and the durations the
// agent and `service install pull` take (cmd/_args.ts): pure.
import { describe, expect, test } from "bun:test";
import { askPeriodically, nextRun, onePerSlot, splayOffset } from "../../lib/agent/schedule.ts";
import { parseDuration } from "../../cmd/_args.ts";

describe("splayOffset", () => {
  test("the same id has the same offset (a restarted agent keeps its slot), within the splay", () => {
    for (const id of ["web1", "db-2.example.com", "a"]) {
      expect(splayOffset(id, 300_000)).toBe(splayOffset(id, 300_000));
      expect(splayOffset(id, 300_000)).toBeGreaterThanOrEqual(0);
      expect(splayOffset(id, 300_000)).toBeLessThan(300_000);
    }
    expect(splayOffset("web1", 0)).toBe(0);
  });

  test("a fleet is spread over the splay: 1,000 hosts over 5 minutes fill every 30 s bucket", () => {
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++)
      buckets[Math.floor(splayOffset(`web${i}.example.com`, 300_000) / 30_000)]++;
    // A fair spread puts 100 in each; none below 60 nor above 140.
    for (const n of buckets) {
      expect(n).toBeGreaterThan(60);
      expect(n).toBeLessThan(140);
    }
  });
});

describe("nextRun", () => {
  test.each([
    ["before the offset in the period", 1_000, 10_000, 3_000, 3_000],
    ["just after its slot", 3_001, 10_000, 3_000, 13_000],
    ["exactly at its slot: the next one", 13_000, 10_000, 3_000, 23_000],
    ["no offset", 25_000, 10_000, 0, 30_000],
  ])("%s", (_, now, every, offset, expected) => {
    expect(nextRun(now, every, offset)).toBe(expected);
  });

  test("slots are a period apart and on the same grid whenever the agent starts", () => {
    const every = 1_800_000;
    const offset = splayOffset("web1", 300_000);
    const a = nextRun(Date.UTC(2026, 11, 3, 10, 0, 7), every, offset);
    const b = nextRun(Date.UTC(2026, 11, 3, 10, 13, 41), every, offset);
    expect((((a - offset) % every) + every) % every).toBe(0);
    expect(b === a || b === a + every).toBe(true);
  });
});

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["2s", 2_000],
    ["1.5s", 1_500],
    ["30m", 1_800_000],
    ["1h", 3_600_000],
    [" 15m ", 900_000],
  ])("%s", (text, ms) => {
    expect(parseDuration(text, "--apply-every")).toBe(ms);
  });

  test.each(["", "30", "5d", "-1s", "1 m s", "0s", "31000h"])("%j is a usage error", (text) => {
    expect(() => parseDuration(text, "--apply-every")).toThrow(
      `--apply-every must be a duration such as 30m, 90s, 1h or 500ms (at least 1 ms, at most 30 days), not ${JSON.stringify(text)}`,
    );
  });

  test("a minimum", () => {
    expect(() => parseDuration("500ms", "--apply-every", 1000)).toThrow("at least 1000 ms");
    expect(parseDuration("0s", "--splay", 0)).toBe(0);
  });
});

describe("several masters' sessions on one schedule (issue 22)", () => {
  test("two sessions' timers with one claim: each slot asked once, by whichever fired first", async () => {
    const shared = onePerSlot();
    const claimed: number[] = [];
    let tries = 0;
    const claim = (slot: number) => {
      tries++;
      const mine = shared(slot);
      if (mine) claimed.push(slot);
      return mine;
    };
    const schedule = { everyMs: 40, offsetMs: 0, onlyIfChanged: false, claim };
    let asks = 0;
    const ask = async () => void asks++;
    const stops = [askPeriodically(schedule, ask), askPeriodically(schedule, ask)];
    const end = Date.now() + 5000;
    while (asks < 5 && Date.now() < end) await Bun.sleep(10);
    for (const stop of stops) stop();
    expect(asks).toBeGreaterThanOrEqual(5);
    expect(asks).toBe(claimed.length); // one ask per slot claimed
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(tries).toBeGreaterThan(asks); // the other timer fired too, and was let go
  });

  test("a slot already claimed is refused; a later one is not", () => {
    const claim = onePerSlot();
    expect([claim(100), claim(100), claim(140), claim(100)]).toEqual([true, false, true, false]);
  });
});
