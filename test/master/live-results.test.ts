import { expect, test } from "bun:test";
import { checkedResult, liveResults } from "../../lib/master/live-results.ts";
import { masker } from "../../lib/crypto/mask.ts";
import type { ApplyEvent } from "../../lib/wire/api.ts";

test.each([
  [
    { cmd: "copy(a, b)", rc: 0, changed: true, elapsed: 0.1 },
    { cmd: "copy(a, b)", rc: 0, changed: true, elapsed: 0.1 },
  ],
  [
    { cmd: "x", rc: 1, changed: "yes", elapsed: "soon", error: "boom", extra: { huge: true } },
    { cmd: "x", rc: 1, changed: false, elapsed: 0, error: "boom" },
  ],
  [
    {
      cmd: "syncdir(a, /b)",
      rc: 0,
      changed: true,
      elapsed: 0,
      changes: { added: 1, updated: 0, removed: 2, dirsRemoved: 1, fixed: -1, evil: "x" },
    },
    {
      cmd: "syncdir(a, /b)",
      rc: 0,
      changed: true,
      elapsed: 0,
      changes: { added: 1, updated: 0, removed: 2, dirsRemoved: 1 },
    },
  ],
  [
    { cmd: "x", rc: 0, changed: true, elapsed: 0, changes: { added: "1" } },
    { cmd: "x", rc: 0, changed: true, elapsed: 0 },
  ],
  [{ cmd: "x", rc: 1.5 }, undefined],
  [{ rc: 0 }, undefined],
  [["cmd", 0], undefined],
  [null, undefined],
])("an agent's result %p is taken as %p", (sent, taken) => {
  expect(checkedResult(sent)).toEqual(taken as never);
});

test("only this host's roles, in role order, masked, at most limits.maxLiveResults", () => {
  const events: ApplyEvent[] = [];
  const live = liveResults("a1", ["base", "web"], masker(["s3cret"]), (e) => events.push(e));
  live.current("base");
  live.take({
    role: "base",
    result: { cmd: "shell(echo s3cret)", rc: 0, changed: true, elapsed: 0 },
  });
  live.take({ role: "web", result: { cmd: "copy(w)", rc: 0, changed: false, elapsed: 0 } }); // early: held
  live.take({ role: "db", result: { cmd: "not mine", rc: 0, changed: false, elapsed: 0 } }); // not this host's role
  live.take("garbage");
  expect(events.map((e) => (e.type === "result" ? `${e.role} ${e.result.cmd}` : e.type))).toEqual([
    "base shell(echo ********)",
  ]);
  live.current("web");
  expect(events.map((e) => (e.type === "result" ? `${e.role} ${e.result.cmd}` : e.type))).toEqual([
    "base shell(echo ********)",
    "web copy(w)",
  ]);
  for (let i = 0; i < 20_000; i++)
    live.take({ role: "web", result: { cmd: `c${i}`, rc: 0, changed: false, elapsed: 0 } });
  expect(events.length).toBe(10_000);
});

test("a role's report that lost what was streamed gets it back in front; a complete one is kept", () => {
  const live = liveResults("a1", ["base"], undefined, () => {});
  live.current("base");
  const a = { cmd: "copy(a, b)", rc: 0, changed: true, elapsed: 0.1 };
  const b = { cmd: "shell(sleep 5)", rc: 0, changed: true, elapsed: 5 };
  live.take({ role: "base", result: a });
  const full = [a, b];
  expect(live.settle("base", full)).toBe(full);
  const lost = { cmd: "role(base)", rc: 1, changed: false, elapsed: 0, error: "connection lost" };
  expect(live.settle("base", [lost])).toEqual([a, lost]);
  expect(live.settle("other", [lost])).toEqual([lost]);
  live.take({ role: "base", result: b });
  expect(live.settle("base", [a])).toEqual([a]); // streamed more than it reports: nothing doubled
});
