// shell's `changed` option as a function (it cannot be written in a JSON
// case), and its conditions in a dry run: planned, not run.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { callOperator } from "../../lib/operators/call.ts";
import { shell } from "../../lib/operators/shell.ts";
import { makeWorld } from "./_world.ts";

describe("shell changed: a function of the result", () => {
  test("it decides changed from rc and output", async () => {
    using w = await makeWorld();
    const changed = (r: { rc: number; output: string }) => r.output.includes("updated");
    expect(
      (await callOperator(w.ctx(), shell, ["echo 'nothing to do'", { changed }])).result,
    ).toMatchObject({ rc: 0, changed: false, output: "nothing to do\n" });
    expect(
      (await callOperator(w.ctx(), shell, ["echo 'updated 3'", { changed }])).result,
    ).toMatchObject({ rc: 0, changed: true });
    const seen: unknown[] = [];
    await callOperator(w.ctx(), shell, [
      ["sh", "-c", "echo out; exit 4"],
      { changed: (r: { rc: number; output: string }) => (seen.push(r), false) },
    ]);
    expect(seen).toEqual([{ rc: 4, output: "out\n" }]);
  });

  test("a function that throws makes the call fail with its message", async () => {
    using w = await makeWorld();
    const r = await callOperator(w.ctx(), shell, [
      "true",
      {
        changed: () => {
          throw new Error("bad parse");
        },
      },
    ]);
    expect(r.result).toMatchObject({ rc: 1 });
    expect(r.result.error).toContain("bad parse");
  });

  test("a dry run evaluates the conditions but runs nothing", async () => {
    using w = await makeWorld({ dryRun: true });
    const marker = join(w.root, "ran");
    const would = await callOperator(w.ctx(), shell, [
      `touch ${marker}`,
      { unless: "false", changed: () => true },
    ]);
    expect(would.result).toMatchObject({ rc: 0, changed: true });
    expect(would.result.output).toContain("not run (dry run)");
    const skip = await callOperator(w.ctx(), shell, [`touch ${marker}`, { onlyIf: ["false"] }]);
    expect(skip.result).toMatchObject({ rc: 0, changed: false });
    expect(skip.plan?.note).toBe("not run: onlyIf: false failed (rc 1)");
    expect(existsSync(marker)).toBe(false);
  });
});
