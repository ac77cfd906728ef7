// The pure parts of a rollout (lib/inventory/rollout.ts): its words as apply
// arguments, batch sizing from counts, percentages and lists, and the one
// failure budget of the whole rollout.
import { expect, test } from "bun:test";
import { parseApplyArgs } from "../../lib/inventory/args.ts";
import {
  batches,
  FailureBudget,
  parseRollout,
  sizeOf,
  type Size,
} from "../../lib/inventory/rollout.ts";
import { UsageError } from "../../lib/errors.ts";

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const sizesOf = (n: number, spec: string) =>
  batches(hosts(n), parseRollout({ batch: spec })!.batch).map((b) => b.length);

test.each([
  [10, "1", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
  [10, "5", [5, 5]],
  [10, "3", [3, 3, 3, 1]],
  [10, "10%", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
  [25, "10%", [3, 3, 3, 3, 3, 3, 3, 3, 1]],
  [30, "10%", [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]],
  [3, "10%", [1, 1, 1]],
  [10, "100%", [10]],
  [10, "50%", [5, 5]],
  [40, "2.5%", Array(40).fill(1)],
  [10, "1,10%,100%", [1, 1, 8]],
  [100, "1,10%,50%", [1, 10, 50, 39]],
  [10, "1,2,100", [1, 2, 7]],
  [10, "20,1", [10]],
  [1, "1,10%,100%", [1]],
  [0, "1,10%", []],
])("%p hosts with batch=%s: batches of %p", (n, spec, sizes) => {
  expect(sizesOf(n, spec)).toEqual(sizes);
});

test("batches keep the hosts' order and cover each host once", () => {
  const b = batches(hosts(7), [{ n: 1 }, { pct: 50 }]);
  expect(b).toEqual([["h1"], ["h2", "h3", "h4", "h5"], ["h6", "h7"]]);
});

test.each([
  [{ n: 2 }, 10, 2],
  [{ n: 1 }, 0, 1],
  [{ pct: 5 }, 10, 1],
  [{ pct: 5 }, 100, 5],
  [{ pct: 5 }, 101, 6],
  [{ pct: 50 }, 3, 2],
  [{ pct: 100 }, 7, 7],
] as Array<[Size, number, number]>)(
  "max_fail %p of %p hosts: a budget of %p",
  (size, total, budget) => {
    expect(sizeOf(size, total)).toBe(budget);
    expect(new FailureBudget(size, total).max).toBe(budget);
  },
);

test.each([
  // one budget across batches: failures of earlier batches count
  [2, [["a"], ["b", "c"], []], [false, true, true]],
  [3, [["a"], ["b"], ["c"], ["d"]], [false, false, true, true]],
  [1, [[], ["x"]], [false, true]],
  // a host failing twice (its apply, then a retry) counts once
  [2, [["a"], ["a"], ["b"]], [false, false, true]],
])(
  "a budget of %p, failures by batch %p: exhausted after each %p",
  (max, failuresByBatch, exhausted) => {
    const budget = new FailureBudget({ n: max }, 10);
    const seen = failuresByBatch.map((fails) => {
      for (const h of fails) budget.fail(h);
      return budget.exhausted;
    });
    expect(seen).toEqual(exhausted);
  },
);

test("defaults: one batch of every host, stop at the first failure, gate 10 s with 2 retries, no pause", () => {
  expect(parseRollout({ gate: "true" })).toEqual({
    batch: [{ pct: 100 }],
    maxFail: { n: 1 },
    gate: "true",
    gateTimeoutMs: 10_000,
    gateRetries: 2,
    pauseMs: 0,
  });
  expect(parseRollout({})).toBeUndefined();
});

test("rollout words are steering words: they reach no role's context", () => {
  const a = parseApplyArgs([
    "batch=1,10%,100%",
    "max_fail=5%",
    "gate=curl -sf localhost/health",
    "gate_timeout=5s",
    "gate_retries=0",
    "pause=1m",
    "version=2",
  ]);
  expect(a.extra).toEqual({ version: 2 });
  expect(a.rollout).toEqual({
    batch: [{ n: 1 }, { pct: 10 }, { pct: 100 }],
    maxFail: { pct: 5 },
    gate: "curl -sf localhost/health",
    gateTimeoutMs: 5000,
    gateRetries: 0,
    pauseMs: 60_000,
  });
  expect(parseApplyArgs(["version=2"]).rollout).toBeUndefined();
});

test.each([
  ["pause=30s", 30_000],
  ["pause=500ms", 500],
  ["pause=2m", 120_000],
  ["pause=1.5", 1500],
  ["pause=0", 0],
])("%s waits %p ms", (word, ms) => {
  expect(parseApplyArgs([word]).rollout!.pauseMs).toBe(ms);
});

test.each([
  [["batch=0"], /batch=0: a number of hosts/],
  [["batch=0%"], /batch=0%/],
  [["batch=101%"], /batch=101%/],
  [["batch=-1"], /batch=-1/],
  [["batch=1,,2"], /sizes separated by commas/],
  [["batch="], /sizes separated by commas/],
  [["batch=ten"], /batch=ten/],
  [["max_fail=0"], /max_fail=0/],
  [["max_fail=1,2"], /max_fail=1,2/],
  [["gate="], /gate= needs a command/],
  [["gate_timeout=5s"], /gate_timeout= needs gate=CMD/],
  [["gate_retries=1"], /gate_retries= needs gate=CMD/],
  [["gate=true", "gate_timeout=0"], /gate_timeout=0: more than 0/],
  [["gate=true", "gate_timeout=soon"], /gate_timeout=soon: a duration/],
  [["gate=true", "gate_retries=-1"], /gate_retries=-1/],
  [["gate=true", "gate_retries=101"], /gate_retries=101/],
  [["pause=2d"], /pause=2d: a duration/],
  [["pause=25h"], /pause=25h/],
  [["batch=1", "batch=2"], /batch= is given twice/],
  [["btach=1"], /did you mean batch=\?/],
  [["Batch=1"], /did you mean batch=\?/],
  [["batchs=1"], /did you mean batch=\?/],
  [["max_fial=1"], /did you mean max_fail=\?/],
  [["maxfail=1"], /did you mean max_fail=\?/],
  [["gates=x"], /did you mean gate=\?/],
  [["gaet=x"], /did you mean gate=\?/],
  [["gate_timout=1"], /did you mean gate_timeout=\?/],
  [["gate_retris=1"], /did you mean gate_retries=\?/],
  [["paus=1"], /did you mean pause=\?/],
])("%p is a usage error: %p", (words, message) => {
  expect(() => parseApplyArgs(words)).toThrow(UsageError);
  expect(() => parseApplyArgs(words)).toThrow(message);
});

test("short words one letter away are honest context names, not typos of batch=, gate= or pause=", () => {
  expect(
    parseApplyArgs(["date=1", "rate=2", "patch=3", "cause=4", "stage=5", "match=6", "late=7"])
      .extra,
  ).toEqual({ date: 1, rate: 2, patch: 3, cause: 4, stage: 5, match: 6, late: 7 });
});
