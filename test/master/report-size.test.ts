// An apply report too large for one frame to the client: its longest texts are
// cut to an equal share, verdicts kept (lib/master/report-size.ts).
import { describe, expect, test } from "bun:test";
import { fairShare, fitReport } from "../../lib/master/report-size.ts";
import type { ApplyReport } from "../../lib/wire/api.ts";

function report(outputs: string[]): ApplyReport {
  return {
    elapsed: 1,
    rc: 0,
    hosts: outputs.map((o, i) => ({
      id: `h${i}`,
      status: "ran",
      elapsed: 1,
      errors: 0,
      changed: 1,
      roles: [
        {
          role: "r",
          skipped: false,
          elapsed: 1,
          errors: 0,
          changed: 1,
          output: o,
          results: [{ cmd: `shell(${i})`, rc: 0, changed: true, elapsed: 0, output: o, diff: "" }],
        },
      ],
    })),
  };
}

describe("fairShare", () => {
  test.each([
    [[10, 20, 30], 100, Infinity],
    [[10, 20, 30], 60, Infinity],
    [[10, 20, 30], 45, 17],
    [[100, 100, 100], 30, 10],
    [[1, 1000], 101, 100],
    [[], 5, Infinity],
  ])("%j within %d -> %d", (lengths, budget, share) => {
    expect(fairShare(lengths, budget)).toBe(share);
  });
});

describe("fitReport", () => {
  test("a report within the budget is left as it is", () => {
    const r = report(["a", "bb"]);
    expect(fitReport(structuredClone(r), 100)).toEqual(r);
  });

  test("over the budget the longest texts are cut and say so; short ones and every verdict stay", () => {
    const r = fitReport(report(["short", "x".repeat(5000), "y".repeat(9000)]), 1000);
    const outs = r.hosts.flatMap((h) =>
      h.roles.flatMap((role) => [role.output!, ...role.results.map((x) => x.output!)]),
    );
    expect(outs.filter((o) => o === "short")).toHaveLength(2);
    for (const o of outs.filter((o) => o !== "short"))
      expect(o).toMatch(
        /^(x+|y+)\n\[cut: an apply report keeps 1000 characters of output in all; \d+ more not shown\]$/,
      );
    const kept = outs.reduce((n, o) => n + o.replace(/\n\[cut:[^\]]*\]$/, "").length, 0);
    expect(kept).toBeLessThanOrEqual(1000);
    expect(
      r.hosts.map((h) => [
        h.id,
        h.errors,
        h.changed,
        h.roles[0]!.results[0]!.cmd,
        h.roles[0]!.results[0]!.rc,
      ]),
    ).toEqual([
      ["h0", 0, 1, "shell(0)", 0],
      ["h1", 0, 1, "shell(1)", 0],
      ["h2", 0, 1, "shell(2)", 0],
    ]);
  });
});
