// knownFiles: a fetch whose `have` matches the hash the master sent with the
// role request is answered without a request; the run lists what it fetched.
import { describe, expect, test } from "bun:test";
import { knownFiles } from "../../lib/agent/known-files.ts";
import type { FileSource, SourceFile } from "../../lib/operators/file-source.ts";

/** A master that counts the fetches it gets; a file's content is its own hash here. */
function master(files: Record<string, string>) {
  const calls: string[] = [];
  const source: FileSource = {
    async fetch(path, have): Promise<SourceFile> {
      calls.push(path);
      const hash = files[path];
      if (hash === undefined) throw new Error(`no such file in the fileroot: ${path}`);
      return hash === have
        ? { hash, size: hash.length }
        : { hash, size: hash.length, data: new TextEncoder().encode(hash) };
    },
    scan: async () => [],
    read: async () => new Uint8Array(),
    readMany: async () => [],
  };
  return { source, calls, files };
}

describe("knownFiles", () => {
  test("a fetch holding the known hash needs no request; the run lists what it fetched", async () => {
    const m = master({ "files/a": "h1", "files/b": "h2" });
    const run = knownFiles(m.source, {
      "files/a": { hash: "h1", size: 2 },
      "files/b": { hash: "h2", size: 2 },
    });
    expect(await run.fetch("files/a", "h1")).toEqual({ hash: "h1", size: 2 });
    expect(await run.fetch("files/b", "h2")).toEqual({ hash: "h2", size: 2 });
    expect(m.calls).toEqual([]);
    expect(run.fetched()).toEqual(["files/a", "files/b"]);
  });

  test("a different hash, no `have`, an unknown path or no known hashes at all go to the master", async () => {
    const m = master({ "files/a": "h9", "files/b": "h2", "files/c": "h3" });
    const run = knownFiles(m.source, {
      "files/a": { hash: "h1", size: 2 },
      "files/b": { hash: "h2", size: 2 },
    });
    expect((await run.fetch("files/a", "h9")).data).toBeUndefined(); // the master's answer, not the stale known hash
    expect((await run.fetch("files/b")).data).toBeDefined();
    await run.fetch("files/c", "h3");
    await knownFiles(m.source, undefined).fetch("files/b", "h2");
    expect(m.calls).toEqual(["files/a", "files/b", "files/c", "files/b"]);
  });

  test("a file gone from the master fails in its own fetch, with the master's message", async () => {
    const m = master({});
    const run = knownFiles(m.source, {});
    await expect(run.fetch("files/a", "h1")).rejects.toThrow(
      /no such file in the fileroot: files\/a/,
    );
    expect(run.fetched()).toEqual(["files/a"]);
  });

  test("inherited names are not known hashes", async () => {
    const m = master({ "files/toString": "h1" });
    await knownFiles(m.source, {}).fetch("files/toString", "h1");
    expect(m.calls).toEqual(["files/toString"]);
  });
});
