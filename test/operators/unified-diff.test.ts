import { describe, expect, test } from "bun:test";
import { unifiedDiff } from "../../lib/operators/unified-diff.ts";

const opts = { from: "a", to: "b" };

/** Apply a unified diff to `old` (a small patch(1)): proves the diff is correct whatever script it chose. */
function applyPatch(old: string, diff: string): string {
  const src = old === "" ? [] : old.split(/(?<=\n)/);
  const out: string[] = [];
  let at = 0;
  const lines = diff.split(/(?<=\n)/).slice(2);
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -(\d+)(?:,(\d+))? /.exec(lines[i]!);
    if (!m) throw new Error(`bad hunk header ${lines[i]}`);
    const start = Number(m[1]) - (m[2] === "0" ? 0 : 1);
    while (at < start) out.push(src[at++]!);
    for (i++; i < lines.length && !lines[i]!.startsWith("@@"); i++) {
      const l = lines[i]!;
      const noEol = lines[i + 1]?.startsWith("\\ No newline") ?? false;
      const body = noEol ? l.slice(1, -1) : l.slice(1);
      if (noEol) i++;
      if (l[0] === " ") {
        expect(src[at]).toBe(body);
        out.push(src[at++]!);
      } else if (l[0] === "-") {
        expect(src[at]).toBe(body);
        at++;
      } else if (l[0] === "+") out.push(body);
      else throw new Error(`bad line ${l}`);
    }
    i--;
  }
  while (at < src.length) out.push(src[at++]!);
  return out.join("");
}

describe("unifiedDiff", () => {
  test.each([
    ["equal", "a\nb\n", "a\nb\n", ""],
    [
      "one line changed",
      "a\nb\nc\n",
      "a\nB\nc\n",
      "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n",
    ],
    ["from empty", "", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"],
    ["to empty", "x\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n"],
    [
      "final newline added",
      "a\nb",
      "a\nb\n",
      "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n",
    ],
    [
      "two hunks",
      "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
      "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
      "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n",
    ],
    [
      "close changes share a hunk",
      "1\n2\n3\n4\n5\n6\n",
      "1\nX\n3\n4\nY\n6\n",
      "--- a\n+++ b\n@@ -1,6 +1,6 @@\n 1\n-2\n+X\n 3\n 4\n-5\n+Y\n 6\n",
    ],
  ])("%s", (_name, a, b, want) => {
    expect(unifiedDiff(a, b, opts)).toBe(want);
  });

  test("random edits: the diff, applied, turns old into new", () => {
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 300; round++) {
      const old = Array.from({ length: rand(30) }, () => `l${rand(8)}\n`);
      const neu = [...old];
      for (let e = rand(6); e > 0; e--) {
        const i = rand(neu.length + 1);
        if (rand(2)) neu.splice(i, 1);
        else neu.splice(i, 0, `n${rand(8)}\n`);
      }
      const a = old.join("") + (rand(4) === 0 ? "tail" : "");
      const b = neu.join("") + (rand(4) === 0 ? "tail2" : "");
      const d = unifiedDiff(a, b, opts);
      expect(d === "").toBe(a === b);
      if (d) expect(applyPatch(a, d)).toBe(b);
    }
  });

  test("a big rewrite beyond the edit limit is still a correct diff", () => {
    const a = Array.from({ length: 4000 }, (_, i) => `a${i}\n`).join("");
    const b = Array.from({ length: 4000 }, (_, i) => `b${i}\n`).join("");
    const d = unifiedDiff(a, b, opts);
    expect(applyPatch(a, d)).toBe(b);
  });
});
