// RoleFiles: the paths a role fetched last time are asked for in one batch,
// and a fetch whose `have` matches is answered from it without its own request.
import { describe, expect, test } from "bun:test";
import { RoleFiles } from "../../lib/agent/prefetch.ts";
import type { FileHash, FileSource, SourceFile } from "../../lib/operators/file-source.ts";

/** A master that counts the requests it gets; file contents are their own hashes here. */
function master(files: Record<string, string>, opts: { hashes?: boolean; failHashes?: boolean } = {}) {
  const calls: string[] = [];
  const meta = (path: string): FileHash => {
    const hash = files[path];
    if (hash === undefined) throw new Error(`no such file in the fileroot: ${path}`);
    return { hash, size: hash.length };
  };
  const source: FileSource = {
    async fetch(path, have): Promise<SourceFile> {
      calls.push(`fetch ${path}`);
      const m = meta(path);
      return m.hash === have ? m : { ...m, data: new TextEncoder().encode(m.hash) };
    },
    scan: async () => [],
    read: async () => new Uint8Array(),
  };
  if (opts.hashes !== false) {
    source.hashes = async (paths) => {
      calls.push(`hashes ${paths.join(",")}`);
      if (opts.failHashes) throw new Error("unknown method file.hashes");
      return paths.map((p) => (files[p] === undefined ? null : meta(p)));
    };
  }
  return { source, calls, files };
}

describe("RoleFiles", () => {
  test("the first run fetches each file; the next asks once and skips fetches whose hash it holds", async () => {
    const m = master({ "files/a": "h1", "files/b": "h2" });
    const rf = new RoleFiles();
    const first = rf.open(m.source, "web");
    expect((await first.fetch("files/a")).data).toBeDefined();
    await first.fetch("files/b", "old");
    first.done();
    expect(m.calls).toEqual(["fetch files/a", "fetch files/b"]);

    m.calls.length = 0;
    const second = rf.open(m.source, "web");
    expect(await second.fetch("files/a", "h1")).toEqual({ hash: "h1", size: 2 });
    expect(await second.fetch("files/b", "h2")).toEqual({ hash: "h2", size: 2 });
    second.done();
    expect(m.calls).toEqual(["hashes files/a,files/b"]);
  });

  test("a changed file, a fetch without `have`, and a new path still go to the master", async () => {
    const m = master({ "files/a": "h1", "files/b": "h2", "files/c": "h3" });
    const rf = new RoleFiles();
    const first = rf.open(m.source, "web");
    await first.fetch("files/a", "h1");
    await first.fetch("files/b", "h2");
    first.done();
    m.files["files/a"] = "h9";
    m.calls.length = 0;
    const run = rf.open(m.source, "web");
    const a = await run.fetch("files/a", "h1");
    expect(a.hash).toBe("h9");
    expect(a.data).toBeDefined();
    expect((await run.fetch("files/b")).data).toBeDefined();
    await run.fetch("files/c", "h3");
    expect(m.calls).toEqual(["hashes files/a,files/b", "fetch files/a", "fetch files/b", "fetch files/c"]);
  });

  test("a file gone from the master fails in its own fetch, with the master's message", async () => {
    const m = master({ "files/a": "h1" });
    const rf = new RoleFiles();
    const first = rf.open(m.source, "web");
    await first.fetch("files/a", "h1");
    first.done();
    delete m.files["files/a"];
    await expect(rf.open(m.source, "web").fetch("files/a", "h1")).rejects.toThrow(/no such file in the fileroot: files\/a/);
  });

  test("roles are remembered apart, and only what the last run used", async () => {
    const m = master({ "files/a": "h1", "files/b": "h2" });
    const rf = new RoleFiles();
    const web = rf.open(m.source, "web");
    await web.fetch("files/a", "h1");
    web.done();
    const db = rf.open(m.source, "db");
    await db.fetch("files/b", "h2");
    db.done();
    m.calls.length = 0;
    rf.open(m.source, "web");
    rf.open(m.source, "db");
    rf.open(m.source, "new");
    await Bun.sleep(0);
    expect(m.calls).toEqual(["hashes files/a", "hashes files/b"]);
  });

  test("a master without file.hashes, or one failing it, means ordinary fetches", async () => {
    for (const opts of [{ hashes: false }, { failHashes: true }]) {
      const m = master({ "files/a": "h1" }, opts);
      const rf = new RoleFiles();
      const first = rf.open(m.source, "web");
      await first.fetch("files/a", "h1");
      first.done();
      m.calls.length = 0;
      expect(await rf.open(m.source, "web").fetch("files/a", "h1")).toEqual({ hash: "h1", size: 2 });
      expect(m.calls.filter((c) => c.startsWith("fetch"))).toEqual(["fetch files/a"]);
    }
  });
});
