// A 2 GB file through syncdir keeps the process under 100 MB of RSS: the
// file is pulled in chunks and written as they arrive. Runs in a child
// process (its own RSS, nothing else of the test runner's); the source is a
// sparse file, so it costs no disk to make (the copy does: 2 GB, removed after).

import { expect, test } from "bun:test";
import { join } from "node:path";

test("syncdir of a 2 GB file keeps RSS under 100 MB", async () => {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "_rss-child.ts")], {
    env: { ...process.env, SIZE: String(2 * 1024 ** 3) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const r = JSON.parse(out) as { peak: number; seconds: number; rc: number; written: number };
  expect(r.rc).toBe(0);
  expect(r.written).toBe(2 * 1024 ** 3);
  expect(r.peak).toBeLessThan(100 * 1024 * 1024);
  console.log(
    `2 GB syncdir: peak RSS ${(r.peak / 1024 ** 2).toFixed(1)} MB in ${r.seconds.toFixed(1)} s`,
  );
}, 120_000);
