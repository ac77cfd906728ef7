import { describe, expect, test } from "bun:test";
import { MASK, StreamMask } from "../../lib/master/stream-mask.ts";

/** Feed the pieces; what comes out, joined, and what came out before the end. */
function feed(values: string[], pieces: string[]): { all: string; early: string } {
  const m = new StreamMask(values);
  let early = "";
  for (const p of pieces) early += m.push(p);
  return { all: early + m.end(), early };
}

describe("StreamMask", () => {
  test.each([
    ["whole in one piece", ["s3cret"], ["a s3cret b"], `a ${MASK} b`],
    ["split across two pieces", ["s3cret"], ["a s3c", "ret b"], `a ${MASK} b`],
    ["split across many pieces", ["s3cret"], ["s", "3", "c", "r", "e", "t", "!"], `${MASK}!`],
    ["at the very end", ["s3cret"], ["x s3cr", "et"], `x ${MASK}`],
    ["twice, the second split", ["pw12"], ["pw12 pw", "12"], `${MASK} ${MASK}`],
    ["two values, the longer first", ["abc", "abcdef"], ["abcdef abc"], `${MASK} ${MASK}`],
    ["a prefix that is not the secret", ["s3cret"], ["s3cre", "X"], "s3creX"],
    ["no secrets: passed as is", [], ["a", "b"], "ab"],
  ])("%s", (_name, values, pieces, expected) => {
    expect(feed(values, pieces).all).toBe(expected);
  });

  test("never shows part of a secret before the end", () => {
    const { early } = feed(["topsecret"], ["user=tops", "ecr"]);
    expect(early).toBe("user=");
  });

  test("without secrets every piece goes out at once", () => {
    const m = new StreamMask([]);
    expect(m.push("abc")).toBe("abc");
    expect(m.end()).toBe("");
  });

  test("text that does not end with the start of a secret goes out at once (a short line is not kept waiting)", () => {
    const m = new StreamMask(["tok-a1-s3cret-value"]);
    expect(m.push("first\n")).toBe("first\n");
    expect(m.push("token tok-a1")).toBe("token ");
    expect(m.push("-s3cret-value!")).toBe("******** ".trim() + "!");
    expect(m.end()).toBe("");
  });
});
