// quote(): every word comes back from /bin/sh exactly as it went in.
import { expect, test } from "bun:test";
import { quote } from "../../lib/operators/quote.ts";

const WORDS = [
  "plain",
  "10.0.0.1",
  "",
  "a b",
  "it's",
  `10.66.66.66"; id > /tmp/x; echo "`,
  "$(id)",
  "`id`",
  "a\nb",
  "*",
  "~root",
  "-n",
  "'''",
  "\\",
  42,
];

test("plain words stay readable, the others are single-quoted", () => {
  expect(quote("10.0.0.1", "a b", "it's", "")).toBe(`10.0.0.1 'a b' 'it'\\''s' ''`);
});

test("/bin/sh gives back every word exactly", async () => {
  const script = `for w in ${quote(...WORDS)}; do printf '%s\\0' "$w"; done`;
  const proc = Bun.spawn(["/bin/sh", "-c", script], { stdout: "pipe" });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  expect(out.split("\0").slice(0, -1)).toEqual(WORDS.map(String));
});

test("anything but strings and numbers is refused", () => {
  expect(() => quote(["a"] as never)).toThrow("quote() takes strings and numbers, got object");
});
