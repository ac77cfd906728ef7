// The properties that make unchanged roles cost milliseconds, and the
// atomicity of writes: counted reads through the injected ports, a failing
// rename, big files in chunks.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { limits, timing } from "../../lib/constants.ts";
import { CompiledTemplates } from "../../lib/operators/cache.ts";
import { copy } from "../../lib/operators/copy.ts";
import { lineInFile } from "../../lib/operators/line-in-file.ts";
import { render } from "../../lib/operators/render.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { syncdir } from "../../lib/operators/syncdir.ts";
import type { FileSource } from "../../lib/operators/file-source.ts";
import { realDisk } from "../../lib/sys/disk.ts";
import { makeWorld, type Tree } from "./_world.ts";

const racy = timing.statRacyMs;
beforeEach(() => {
  timing.statRacyMs = 0; // files planted a moment ago may be trusted at once here
});
afterEach(() => {
  timing.statRacyMs = racy;
});

describe("no-change runs read nothing", () => {
  test("copy: the destination is hashed once, then trusted by its stat; the master sends no data", async () => {
    using w = await makeWorld({ master: { "files/a.conf": "a\n" }, fs: { "/etc/a.conf": "a\n" } });
    const datas: boolean[] = [];
    const files: FileSource = {
      ...w.ctx().files,
      fetch: async (p, have) => {
        const got = await w.ctx().files.fetch(p, have);
        datas.push(got.data !== undefined);
        return got;
      },
    };
    for (let i = 0; i < 3; i++)
      expect(
        (await callOperator(w.ctx({ files }), copy, ["a.conf", "/etc/a.conf"])).result.changed,
      ).toBe(false);
    expect(w.n.observeRead).toBe(0);
    expect(datas).toEqual([false, false, false]);
    expect(w.cache.hashes.size).toBe(1);
  });

  test("copy: a changed destination is noticed (its stat changed) and rewritten", async () => {
    using w = await makeWorld({ master: { "files/a.conf": "a\n" } });
    await callOperator(w.ctx(), copy, ["a.conf", "/etc/a.conf"]);
    writeFileSync(join(w.prefix, "etc/a.conf"), "tampered\n");
    const r = await callOperator(w.ctx(), copy, ["a.conf", "/etc/a.conf"]);
    expect(r.result.changed).toBe(true);
    expect(readFileSync(join(w.prefix, "etc/a.conf"), "utf8")).toBe("a\n");
  });

  test("a file changed within the racy window of its cached hash is hashed again", async () => {
    timing.statRacyMs = 60_000;
    using w = await makeWorld({ master: { "files/a.conf": "a\n" }, fs: { "/etc/a.conf": "a\n" } });
    await callOperator(w.ctx(), copy, ["a.conf", "/etc/a.conf"]);
    await callOperator(w.ctx(), copy, ["a.conf", "/etc/a.conf"]);
    expect(w.n.observeHash).toBe(2);
    expect(w.cache.hashes.has(join(w.prefix, "etc/a.conf"))).toBe(true);
  });

  test("render: the template comes once; later renders send its hash and get no data", async () => {
    using w = await makeWorld({
      master: { "files/t.conf": "x=<%= id %>\n<%- include('p.conf') %>", "files/p.conf": "p\n" },
    });
    const seen: string[] = [];
    const files: FileSource = {
      ...w.ctx().files,
      fetch: async (p, have) => {
        const got = await w.ctx().files.fetch(p, have);
        seen.push(`${p}:${got.data ? "data" : "same"}`);
        return got;
      },
    };
    for (let i = 0; i < 3; i++)
      await callOperator(w.ctx({ files }), render, ["t.conf", "/etc/t.conf"]);
    // The template and its include are fetched together (in either order) on every render.
    expect(seen.slice(0, 2).sort()).toEqual(["files/p.conf:data", "files/t.conf:data"]);
    expect(seen.slice(2).sort()).toEqual([
      "files/p.conf:same",
      "files/p.conf:same",
      "files/t.conf:same",
      "files/t.conf:same",
    ]);
    expect(w.cache.compiled.size).toBe(2);
  });

  test("lineInFile: a file known to hold the line is not read again", async () => {
    using w = await makeWorld({ fs: { "/etc/hosts": "127.0.0.1 localhost\n" } });
    for (let i = 0; i < 3; i++)
      await callOperator(w.ctx(), lineInFile, ["127.0.0.1 localhost", "/etc/hosts"]);
    expect(w.n.observeRead).toBe(1);
  });

  test("syncdir of 2,000 unchanged files reads none of them", async () => {
    const master: Tree = {};
    for (let i = 0; i < 2000; i++) master[`files/big/d${i % 20}/f${i}.txt`] = `file ${i}\n`;
    using w = await makeWorld({ master });
    const first = await callOperator(w.ctx(), syncdir, ["files/big", "/srv/big"]);
    expect(first.result.changes).toEqual({ added: 2000, updated: 0, removed: 0, dirsAdded: 20 });
    expect(w.n.read).toBe(2000);
    Object.assign(w.n, {
      fetch: 0,
      scan: 0,
      read: 0,
      readBytes: 0,
      observeRead: 0,
      observeHash: 0,
    });
    const again = await callOperator(w.ctx(), syncdir, ["files/big", "/srv/big"]);
    expect(again.result.changed).toBe(false);
    expect(w.n).toEqual({
      fetch: 0,
      scan: 1,
      read: 0,
      readBytes: 0,
      observeRead: 0,
      observeHash: 0,
    });
  });

  test("render: executors sharing compiled templates compile a text once, each renders its own context, a changed text anew", async () => {
    const shared = new CompiledTemplates();
    const master = { "files/t.conf": "host <%= id %>\n" };
    using a = await makeWorld({ master, templates: shared, context: { id: "a.test" } });
    using b = await makeWorld({ master, templates: shared, context: { id: "b.test" } });
    const out = (w: typeof a) => readFileSync(join(w.prefix, "etc/t.conf"), "utf8");
    for (let i = 0; i < 2; i++) {
      for (const w of [a, b]) {
        const r = await callOperator(w.ctx(), render, ["t.conf", "/etc/t.conf"]);
        expect(r.result.error).toBeUndefined();
        expect(r.result.changed).toBe(i === 0);
      }
    }
    expect([out(a), out(b)]).toEqual(["host a.test\n", "host b.test\n"]);
    expect(shared.compiled.size).toBe(1);
    expect(a.cache.compiled).toBe(b.cache.compiled);
    // b's master changes the text (its hash): b compiles and renders the new one, dropping the old
    // compiled form; a, still sent the old text, compiles that again and renders it as before.
    writeFileSync(join(b.fileroot, "files/t.conf"), "server <%= id %>\n");
    expect((await callOperator(b.ctx(), render, ["t.conf", "/etc/t.conf"])).result.changed).toBe(
      true,
    );
    expect((await callOperator(a.ctx(), render, ["t.conf", "/etc/t.conf"])).result.changed).toBe(
      false,
    );
    expect([out(a), out(b)]).toEqual(["host a.test\n", "server b.test\n"]);
    // A world of its own shares nothing.
    using c = await makeWorld({ master });
    expect(c.cache.compiled).not.toBe(a.cache.compiled);
  });
});

describe("atomic writes", () => {
  test("a crash between the temporary write and the rename leaves the old file, and no temporary file", async () => {
    using w = await makeWorld({
      master: { "files/a.conf": "new\n" },
      fs: { "/etc/a.conf": "old\n" },
    });
    const disk = {
      ...realDisk,
      rename: async () => {
        throw new Error("power lost");
      },
    };
    const r = await callOperator(w.ctx({ disk }), copy, ["a.conf", "/etc/a.conf"]);
    expect(r.result.rc).toBe(1);
    expect(r.result.error).toBe("copy(a.conf, /etc/a.conf): power lost");
    expect(readFileSync(join(w.prefix, "etc/a.conf"), "utf8")).toBe("old\n");
    expect(readdirSync(join(w.prefix, "etc"))).toEqual(["a.conf"]);
  });

  test("the temporary file already has the final mode before any byte is written", async () => {
    using w = await makeWorld({ master: { "files/key": "secret\n" }, fs: { "/etc/x": "x\n" } });
    const modes: number[] = [];
    const disk = {
      ...realDisk,
      create: async (p: string, mode: number, owner: { uid: number; gid: number }) => {
        modes.push(mode);
        return realDisk.create(p, mode, owner);
      },
    };
    await callOperator(w.ctx({ disk }), copy, ["key", "/etc/key", { mode: 0o600 }]);
    expect(modes).toEqual([0o600]);
  });
});

test("a file bigger than the inline limit is pulled in chunks and checked against its hash", async () => {
  const big = "0123456789abcdef".repeat((limits.inlineFileBytes * 2 + 12345) / 16);
  using w = await makeWorld({ master: { "files/big.bin": big } });
  const r = await callOperator(w.ctx(), copy, ["big.bin", "/srv/big.bin"]);
  expect(r.plan?.changes.at(-1)).toMatchObject({
    kind: "fetch",
    src: "files/big.bin",
    size: big.length,
  });
  expect(w.n.read).toBe(Math.ceil(big.length / limits.chunkBytes));
  expect(readFileSync(join(w.prefix, "srv/big.bin"), "utf8")).toBe(big);
  expect((await callOperator(w.ctx(), copy, ["big.bin", "/srv/big.bin"])).result.changed).toBe(
    false,
  );
  // The master's file changes between the answer and the transfer: refused, nothing half-written.
  writeFileSync(join(w.fileroot, "files/big.bin"), "x".repeat(big.length));
  const files: FileSource = {
    ...w.ctx().files,
    fetch: async () => ({ hash: "0".repeat(64), size: big.length }),
  };
  const torn = await callOperator(w.ctx({ files }), copy, ["big.bin", "/srv/big.bin"]);
  expect(torn.result.error).toContain("changed on the master during the transfer");
  expect(readFileSync(join(w.prefix, "srv/big.bin"), "utf8")).toBe(big);
  expect(existsSync(join(w.prefix, "srv")) && readdirSync(join(w.prefix, "srv"))).toEqual([
    "big.bin",
  ]);
});
