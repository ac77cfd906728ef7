// quote() for roles and templates: words made safe to paste into a /bin/sh
// command line. A word of plain characters stays as it is (readable output);
// any other is put in single quotes, each ' written as '\''. Pure.

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for /bin/sh: `quote("a b")` is `'a b'`; several words are joined by spaces. */
export function quote(...words: Array<string | number>): string {
  return words
    .map((w) => {
      if (typeof w !== "string" && typeof w !== "number")
        throw new TypeError(
          `quote() takes strings and numbers, got ${w === null ? "null" : typeof w}`,
        );
      const s = String(w);
      return PLAIN.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
    })
    .join(" ");
}
