// validate on the write paths the JSON cases do not reach: a big file pulled
// from the master in chunks (a fetch), and where the checked file lies (beside
// the destination, under --path, with the final mode).

import { expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { copy } from "../../lib/operators/copy.ts";
import { file } from "../../lib/operators/file.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { makeWorld } from "./_world.ts";

const big = `${"x".repeat(5 * 1024 * 1024)}\nok\n`; // over limits.inlineFileBytes: fetched in chunks when applied

test("a big fetched file: a failing validate leaves the old file and no temporary file; a passing one replaces it", async () => {
  using w = await makeWorld({
    master: { "files/big.txt": big, "files/bad.txt": `${"y".repeat(5 * 1024 * 1024)}\n` },
    fs: { "/srv/big.txt": "old\n" },
  });
  const bad = await callOperator(w.ctx(), copy, [
    "bad.txt",
    "/srv/big.txt",
    { validate: "grep -q ^ok$ %s" },
  ]);
  expect(bad.plan?.changes.at(-1)).toMatchObject({ kind: "fetch", validate: "grep -q ^ok$ %s" });
  expect(bad.result).toMatchObject({ rc: 1, changed: false });
  expect(bad.result.error).toContain(
    "validation failed (grep -q ^ok$ %s, rc 1); the file was not replaced",
  );
  expect(readFileSync(join(w.prefix, "srv/big.txt"), "utf8")).toBe("old\n");
  expect(readdirSync(join(w.prefix, "srv"))).toEqual(["big.txt"]);
  const good = await callOperator(w.ctx(), copy, [
    "big.txt",
    "/srv/big.txt",
    { validate: "grep -q ^ok$ %s" },
  ]);
  expect(good.result).toMatchObject({ rc: 0, changed: true });
  expect(readFileSync(join(w.prefix, "srv/big.txt"), "utf8")).toBe(big);
});

test("the validator gets the temporary file beside the destination, under --path, already with its mode", async () => {
  using w = await makeWorld();
  const seen = join(w.root, "seen");
  const r = await callOperator(w.ctx(), file, [
    "/etc/app.conf",
    { content: "a\n", mode: 0o640, validate: `sh -c 'stat -c "%%a %%n" "$1" > ${seen}' check %s` },
  ]);
  expect(r.result.rc).toBe(0);
  expect(readFileSync(seen, "utf8")).toBe(`640 ${join(w.prefix, "etc/.app.conf.salty-tmp")}\n`);
  expect(existsSync(join(w.prefix, "etc/.app.conf.salty-tmp"))).toBe(false);
});
