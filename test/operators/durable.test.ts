// Every write is fsync'd before its rename, new files as much as replaced
// ones: after a power loss no destination may be found empty or partial. A
// syncdir's small files are fsync'd in batches, every one of a batch before
// the first of them is renamed; a failure in a batch leaves no temporary file
// and no partial destination.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { copy } from "../../lib/operators/copy.ts";
import { syncdir } from "../../lib/operators/syncdir.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { realDisk } from "../../lib/sys/disk.ts";
import type { Disk } from "../../lib/sys/types.ts";
import type { FileSource } from "../../lib/operators/file-source.ts";
import { makeWorld } from "./_world.ts";

/** The real disk, counting the fsyncs of files created through it, by name. */
function countingDisk(): { disk: Disk; synced: string[] } {
  const synced: string[] = [];
  const disk: Disk = {
    ...realDisk,
    async create(path, mode, owner) {
      const h = await realDisk.create(path, mode, owner);
      return {
        ...h,
        sync: async () => (synced.push(path.replace(/.*\/\.(.*)\.salty-tmp.*/, "$1")), h.sync()),
      };
    },
  };
  return { disk, synced };
}

describe("fsync policy", () => {
  test("copy: a new destination and one replacing a file are both fsync'd", async () => {
    using w = await makeWorld({
      master: { "files/a.conf": "new\n", "files/b.conf": "new\n" },
      fs: { "/etc/b.conf": "old\n" },
    });
    const { disk, synced } = countingDisk();
    for (const name of ["a.conf", "b.conf"])
      expect((await callOperator(w.ctx({ disk }), copy, [name, `/etc/${name}`])).result.rc).toBe(0);
    expect(synced).toEqual(["a.conf", "b.conf"]);
    expect(readFileSync(join(w.prefix, "etc/a.conf"), "utf8")).toBe("new\n");
    expect(readFileSync(join(w.prefix, "etc/b.conf"), "utf8")).toBe("new\n");
  });

  test("syncdir: added and updated files are both fsync'd", async () => {
    using w = await makeWorld({
      master: { "files/app/x.txt": "x2\n", "files/app/y.txt": "y\n" },
      fs: { "/srv/app/x.txt": "x1 and longer\n" },
    });
    const { disk, synced } = countingDisk();
    const { result } = await callOperator(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"]);
    expect(result.rc).toBe(0);
    expect(result.changes).toEqual({ added: 1, updated: 1, removed: 0 });
    expect(synced.sort()).toEqual(["x.txt", "y.txt"]);
  });
});

/** The real disk, logging writeback starts, fsyncs and renames of temporary files in order; `failSync` makes that file's fsync fail. */
function recordingDisk(failSync?: string): { disk: Disk; log: string[] } {
  const log: string[] = [];
  const name = (path: string) => path.replace(/.*\/\.(.*)\.salty-tmp.*/, "$1");
  const disk: Disk = {
    ...realDisk,
    async create(path, mode, owner) {
      const h = await realDisk.create(path, mode, owner);
      return {
        ...h,
        startWriteback: () => (log.push(`writeback ${name(path)}`), h.startWriteback()),
        sync: async () => {
          log.push(`sync ${name(path)}`);
          if (name(path) === failSync) throw new Error("EIO: fsync failed");
          return h.sync();
        },
      };
    },
    async rename(from, to) {
      if (from.includes(".salty-tmp")) log.push(`rename ${name(from)}`);
      return realDisk.rename(from, to);
    },
  };
  return { disk, log };
}

/** Every file and directory name under `dir`, recursively. */
function names(dir: string): string[] {
  return readdirSync(dir, { recursive: true }) as string[];
}

const manyFiles = (n: number) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `files/app/d${i % 3}/f${String(i).padStart(3, "0")}.txt`,
      `file ${i}\n`,
    ]),
  );

describe("batched fsync", () => {
  test("syncdir: every file of a batch is written back and fsync'd before the first rename; batches hold 64 files", async () => {
    using w = await makeWorld({ master: manyFiles(100) });
    const { disk, log } = recordingDisk();
    const { result } = await callOperator(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"]);
    expect(result.rc).toBe(0);
    expect(result.changes).toEqual({ added: 100, updated: 0, removed: 0, dirsAdded: 3 });
    const firstRename = log.findIndex((l) => l.startsWith("rename"));
    expect(log.slice(0, firstRename).filter((l) => l.startsWith("sync"))).toHaveLength(64);
    for (const kind of ["writeback", "sync", "rename"])
      expect(log.filter((l) => l.startsWith(kind))).toHaveLength(100);
    for (const f of log.filter((l) => l.startsWith("rename")).map((l) => l.slice(7))) {
      expect(log.indexOf(`writeback ${f}`)).toBeLessThan(log.indexOf(`sync ${f}`));
      expect(log.indexOf(`sync ${f}`)).toBeLessThan(log.indexOf(`rename ${f}`));
    }
    expect(readFileSync(join(w.prefix, "srv/app/d1/f097.txt"), "utf8")).toBe("file 97\n");
    expect(names(w.prefix).filter((n) => n.includes("salty-tmp"))).toEqual([]);
  });

  test("new files cost no removal: a temporary name is cleared only when a crashed write left something there", async () => {
    using w = await makeWorld({ master: manyFiles(20) });
    const removed: string[] = [];
    const disk: Disk = {
      ...realDisk,
      remove: async (path) => (removed.push(path), realDisk.remove(path)),
    };
    const { result } = await callOperator(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"]);
    expect(result.changes).toEqual({ added: 20, updated: 0, removed: 0, dirsAdded: 3 });
    expect(removed).toEqual([]);
  });

  test("a failed fsync in a batch renames none of its files and leaves no temporary file; the next run completes", async () => {
    using w = await makeWorld({ master: manyFiles(10) });
    const { disk } = recordingDisk("f004.txt");
    const failed = (await callOperator(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"])).result;
    expect(failed.rc).toBe(1);
    expect(failed.error).toContain("EIO: fsync failed");
    const left = names(w.prefix);
    expect(left.filter((n) => n.endsWith(".txt") || n.includes("salty-tmp"))).toEqual([]);
    expect(existsSync(join(w.prefix, "srv/app/d0"))).toBe(true); // directories were made before the files
    const again = (await callOperator(w.ctx(), syncdir, ["files/app", "/srv/app"])).result;
    expect(again.rc).toBe(0);
    expect(again.changes).toEqual({ added: 10, updated: 0, removed: 0 });
  });

  test("a read failing in the middle of a batch leaves the files before it unrenamed and no temporary file", async () => {
    using w = await makeWorld({ master: manyFiles(10) });
    const base = w.ctx().files;
    const read: FileSource["read"] = (path, offset, length) =>
      path.endsWith("f007.txt")
        ? Promise.reject(new Error("connection lost"))
        : base.read(path, offset, length);
    const broken: FileSource = {
      ...base,
      read,
      readMany: (reads) => Promise.all(reads.map((r) => read(r.path, r.offset, r.length))),
    };
    const failed = (
      await callOperator(w.ctx({ files: broken }), syncdir, ["files/app", "/srv/app"])
    ).result;
    expect(failed.rc).toBe(1);
    expect(failed.error).toContain("connection lost");
    expect(names(w.prefix).filter((n) => n.endsWith(".txt") || n.includes("salty-tmp"))).toEqual(
      [],
    );
  });
});
