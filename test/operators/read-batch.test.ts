// Small syncdir files are read in batches when the source offers readMany:
// a few requests for many files, the same bytes in the same places.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { syncdir } from "../../lib/operators/syncdir.ts";
import { callOperator } from "../../lib/operators/call.ts";
import type { FileSource, ReadRange } from "../../lib/operators/file-source.ts";
import { makeWorld, type Tree } from "./_world.ts";

function batching(inner: FileSource): { files: FileSource; batches: number[]; single: string[] } {
  const batches: number[] = [];
  const single: string[] = [];
  const files: FileSource = {
    ...inner,
    read: (path, offset, length) => (single.push(path), inner.read(path, offset, length)),
    readMany: async (reads: ReadRange[]) => {
      batches.push(reads.length);
      return Promise.all(reads.map((r) => inner.read(r.path, r.offset, r.length)));
    },
  };
  return { files, batches, single };
}

describe("batched reads", () => {
  test("300 files of 10 kB and an empty one: 3 requests of at most 1 MB, every file in place", async () => {
    const master: Tree = { "files/app/empty": "" };
    for (let i = 0; i < 300; i++)
      master[`files/app/d${i % 7}/f${i}`] = {
        repeat: [String.fromCharCode(97 + (i % 26)), 10_000],
      };
    using w = await makeWorld({ master });
    const b = batching(w.ctx().files);
    const { result } = await callOperator(w.ctx({ files: b.files }), syncdir, [
      "files/app",
      "/srv/app",
    ]);
    expect(result.rc).toBe(0);
    expect(result.changes).toEqual({ added: 301, updated: 0, removed: 0, dirsAdded: 7 });
    expect(b.batches).toEqual([104, 104, 92]);
    expect(b.single).toEqual([]);
    for (const i of [0, 150, 299])
      expect(readFileSync(join(w.prefix, `srv/app/d${i % 7}/f${i}`), "utf8")).toBe(
        String.fromCharCode(97 + (i % 26)).repeat(10_000),
      );
    expect(readFileSync(join(w.prefix, "srv/app/empty"), "utf8")).toBe("");
  });

  test("a batch that fails fails the syncdir with its message, and nothing is renamed into place", async () => {
    const master: Tree = {};
    for (let i = 0; i < 5; i++) master[`files/app/f${i}`] = `content ${i}\n`;
    using w = await makeWorld({ master });
    const files: FileSource = {
      ...w.ctx().files,
      readMany: async () => Promise.reject(new Error("master went away")),
    };
    const { result } = await callOperator(w.ctx({ files }), syncdir, ["files/app", "/srv/app"]);
    expect(result.rc).toBe(1);
    expect(result.error).toMatch(/master went away/);
    expect(() => readFileSync(join(w.prefix, "srv/app/f0"))).toThrow();
  });
});
