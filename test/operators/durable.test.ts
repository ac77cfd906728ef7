// Every write is fsync'd before its rename, new files as much as replaced
// ones: after a power loss no destination may be found empty or partial.
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
  test("copy: a new destination and one replacing a file are both fsync'd", async () => {
    using w = await makeWorld({ master: { "files/a.conf": "new\n", "files/b.conf": "new\n" }, fs: { "/etc/b.conf": "old\n" } });
    const { disk, synced } = countingDisk();
    for (const name of ["a.conf", "b.conf"]) expect((await execute(w.ctx({ disk }), copy, [name, `/etc/${name}`])).result.rc).toBe(0);
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
    const { result } = await execute(w.ctx({ disk }), syncdir, ["files/app", "/srv/app"]);
    expect(result.rc).toBe(0);
    expect(result.changes).toEqual({ added: 1, updated: 1, removed: 0 });
    expect(synced.sort()).toEqual(["x.txt", "y.txt"]);
  });
});
