// Watched trees: a directory is walked again only after something below it
// changed, or after forget(): of a path in it (the agent's own writes, even
// through a symlink), or of everything (after a command it ran).
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timing } from "../../lib/constants.ts";
import { localFilesystem, WatchedTrees } from "../../lib/sys/watched-trees.ts";
import { walkTree } from "../../lib/sys/walk.ts";
import { tempDir } from "../_temp.ts";

const open: Array<() => void> = [];
afterEach(() => {
  for (const f of open.splice(0)) f();
});

function setup(opts: { canWatch?: (real: string) => boolean } = {}) {
  const scratch = tempDir("salty-watched-");
  const dir = scratch.path;
  mkdirSync(join(dir, "a/b"), { recursive: true });
  writeFileSync(join(dir, "a/b/f"), "one");
  let walks = 0;
  const scans = new WatchedTrees((real) => (walks++, walkTree(real, { owners: false })), opts);
  open.push(() => (scans.close(), scratch[Symbol.dispose]()));
  return { dir, scans, walks: () => walks };
}

/** get() until the walk count moves past `n` (an event arrives within milliseconds). */
async function rescanned(s: ReturnType<typeof setup>, n: number): Promise<void> {
  for (let i = 0; i < 200 && s.walks() === n; i++) {
    await Bun.sleep(5);
    await s.scans.get(s.dir);
  }
  expect(s.walks()).toBe(n + 1);
}

describe.skipIf(!localFilesystem(tmpdir()))("watched trees", () => {
  test("an unchanged tree is walked once; the same walk comes back", async () => {
    const s = setup();
    const first = await s.scans.get(s.dir);
    const again = await s.scans.get(s.dir);
    expect(s.walks()).toBe(1);
    expect(again).toBe(first);
    expect(again.map((e) => e.path)).toEqual(["a", "a/b", "a/b/f"]);
  });

  test.each([
    ["a file's content", (d: string) => writeFileSync(join(d, "a/b/f"), "two!")],
    ["a file's mode", (d: string) => chmodSync(join(d, "a/b/f"), 0o600)],
    ["a new file deep down", (d: string) => writeFileSync(join(d, "a/b/g"), "new")],
    ["a removed file", (d: string) => rmSync(join(d, "a/b/f"))],
    ["a new directory", (d: string) => mkdirSync(join(d, "a/c"))],
  ])("%s changed: walked again, and the walk shows it", async (_what, change) => {
    const s = setup();
    const first = await s.scans.get(s.dir);
    change(s.dir);
    await rescanned(s, 1);
    expect(await s.scans.get(s.dir)).not.toEqual(first);
  });

  test("after a change the tree stays watched: the next change is seen too", async () => {
    const s = setup();
    await s.scans.get(s.dir);
    writeFileSync(join(s.dir, "a/b/f"), "two!");
    await rescanned(s, 1);
    mkdirSync(join(s.dir, "a/new"));
    await rescanned(s, 2);
    writeFileSync(join(s.dir, "a/new/g"), "in a directory made after the watch began");
    await rescanned(s, 3);
    expect((await s.scans.get(s.dir)).map((e) => e.path)).toContain("a/new/g");
  });

  test("a directory put in the place of the watched one is watched itself", async () => {
    const s = setup();
    await s.scans.get(s.dir);
    renameSync(s.dir, `${s.dir}.old`);
    open.push(() => rmSync(`${s.dir}.old`, { recursive: true, force: true }));
    mkdirSync(s.dir);
    await rescanned(s, 1);
    expect(await s.scans.get(s.dir)).toEqual([]);
    writeFileSync(join(s.dir, "late"), "seen");
    await rescanned(s, 2);
    expect((await s.scans.get(s.dir)).map((e) => e.path)).toEqual(["late"]);
  });

  test("forget(): the next get walks again at once, without waiting for an event", async () => {
    const s = setup();
    await s.scans.get(s.dir);
    writeFileSync(join(s.dir, "a/b/f"), "changed by us, reported late by inotify");
    s.scans.forget();
    const after = await s.scans.get(s.dir);
    expect(s.walks()).toBe(2);
    expect(after.find((e) => e.path === "a/b/f")!.size).toBe(
      "changed by us, reported late by inotify".length,
    );
  });

  test("forget(path): only trees holding the path, or held by it, are walked again; a symlinked path counts where it leads", async () => {
    const s = setup();
    const otherDir = tempDir("salty-watched-other-");
    const other = otherDir.path;
    open.push(() => otherDir[Symbol.dispose]());
    symlinkSync(join(s.dir, "a"), join(other, "link"));
    await s.scans.get(s.dir);
    s.scans.forget(join(other, "unrelated.conf"));
    await s.scans.get(s.dir);
    expect(s.walks()).toBe(1);
    s.scans.forget(join(other, "link/b/new.conf")); // through the symlink: inside the tree
    await s.scans.get(s.dir);
    expect(s.walks()).toBe(2);
    s.scans.forget(join(s.dir, "a/b/f"));
    await s.scans.get(s.dir);
    expect(s.walks()).toBe(3);
    s.scans.forget(join(s.dir, "..")); // a parent of the tree (removed, say)
    await s.scans.get(s.dir);
    expect(s.walks()).toBe(4);
  });

  test("a walk older than timing.scanCacheMs is done again", async () => {
    const s = setup();
    await s.scans.get(s.dir);
    const saved = timing.scanCacheMs;
    timing.scanCacheMs = 0;
    try {
      await s.scans.get(s.dir);
    } finally {
      timing.scanCacheMs = saved;
    }
    expect(s.walks()).toBe(2);
  });

  test("a tree that cannot be watched is walked every time", async () => {
    const s = setup({ canWatch: () => false });
    await s.scans.get(s.dir);
    await s.scans.get(s.dir);
    expect(s.walks()).toBe(2);
  });
});
