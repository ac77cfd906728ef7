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
    expect(early).toBe("user"); // the last 8 characters may begin the 9-character secret
  });

  test("without secrets every piece goes out at once", () => {
    const m = new StreamMask([]);
    expect(m.push("abc")).toBe("abc");
    expect(m.end()).toBe("");
  });

  test("text far from any secret goes out at once", () => {
    const m = new StreamMask(["secret"]);
    expect(m.push("0123456789")).toBe("01234");
    expect(m.push("")).toBe("");
    expect(m.end()).toBe("56789");
  });
});
