// When writes are fsync'd: a file that replaces another (its old content must
// survive a power loss) is; a new one is not (the next apply repairs it).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { copy } from "../../lib/operators/copy.ts";
import { syncdir } from "../../lib/operators/syncdir.ts";
import { execute } from "../../lib/operators/run.ts";
import { realDisk } from "../../lib/sys/disk.ts";
import type { Disk } from "../../lib/sys/types.ts";
import { makeWorld } from "./_world.ts";

/** The real disk, counting the fsyncs of files created through it, by name. */
function countingDisk(): { disk: Disk; synced: string[] } {
  const synced: string[] = [];
  const disk: Disk = {
    ...realDisk,
    async create(path, mode, owner) {
      const h = await realDisk.create(path, mode, owner);
      return { ...h, sync: async () => (synced.push(path.replace(/.*\/\.(.*)\.salty-tmp.*/, "$1")), h.sync()) };
    },
  };
  return { disk, synced };
}

describe("fsync policy", () => {
  test("copy: a new destination is not fsync'd, one replacing a file is", async () => {
    using w = await makeWorld({ master: { "files/a.conf": "new\n", "files/b.conf": "new\n" }, fs: { "/etc/b.conf": "old\n" } });
    const { disk, synced } = countingDisk();
    for (const name of ["a.conf", "b.conf"]) expect((await execute(w.ctx({ disk }), copy, [name, `/etc/${name}`])).result.rc).toBe(0);
    expect(synced).toEqual(["b.conf"]);
    expect(readFileSync(join(w.prefix, "etc/a.conf"), "utf8")).toBe("new\n");
    expect(readFileSync(join(w.prefix, "etc/b.conf"), "utf8")).toBe("new\n");
  });

  test("syncdir: added files are not fsync'd, updated ones are", async () => {
    using w = await makeWorld({
      master: { "files/app/x.txt": "x2\n", "files/app/y.txt": "y\n" },
      fs: { "/srv/app/x.txt": "x1 and longer\n" },
    });
    const { disk, synced } = countingDisk();
    const { result } = await execute(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"]);
    expect(result.rc).toBe(0);
    expect(result.changes).toEqual({ added: 1, updated: 1, removed: 0 });
    expect(synced).toEqual(["x.txt"]);
  });
});
