import { beforeAll, describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileServer, resolveUnder } from "../../lib/master/fileserver.ts";
import { hashBytes } from "../../lib/sys/hash.ts";
import { limits, timing } from "../../lib/constants.ts";
import { tempDir, tempDirForFile, tempDirs } from "../_temp.ts";

const root = tempDirForFile("salty-fs-");
const outside = tempDirForFile("salty-outside-");

beforeAll(() => {
  writeFileSync(join(outside, "secret"), "outside");
  mkdirSync(join(root, "files/nginx"), { recursive: true });
  mkdirSync(join(root, "files/db"), { recursive: true });
  mkdirSync(join(root, "keys"));
  mkdirSync(join(root, "files/static/sub"), { recursive: true });
  mkdirSync(join(root, "files/static/.git"));
  writeFileSync(join(root, "files/static/.git/config"), "[remote] url=secret");
  writeFileSync(join(root, "files/static/.env"), "TOKEN=1");
  writeFileSync(join(root, "hosts.ts"), "inventory");
  writeFileSync(join(root, "files/nginx/nginx.conf"), "worker_processes 4;\n");
  writeFileSync(join(root, "files/db/pw.enc"), "ENCRYPTED:hunter2");
  writeFileSync(join(root, "keys/crypto.pass"), "x".repeat(64));
  writeFileSync(join(root, "files/static/a.txt"), "a");
  writeFileSync(join(root, "files/static/sub/b.txt"), "bb");
  symlinkSync("a.txt", join(root, "files/static/link"));
  symlinkSync(outside, join(root, "files/escape"));
  symlinkSync(join(root, "keys"), join(root, "files/keys-link"));
});

function server() {
  return new FileServer({
    fileroot: root,
    keyroot: join(root, "keys"),
    decrypt: (b) => new TextEncoder().encode(new TextDecoder().decode(b).replace("ENCRYPTED:", "")),
  });
}

describe("resolveUnder", () => {
  test.each([
    ["..", /escapes the fileroot/],
    ["../etc/passwd", /escapes the fileroot/],
    ["files/../../etc/passwd", /escapes the fileroot/],
    ["/etc/passwd", /absolute path refused/],
    ["files/escape/secret", /through a symlink/],
    ["files/nope", /no such file in the fileroot: files\/nope/],
    ["files/%2e%2e/%2e%2e/etc/passwd", /no such file/],
    ["files/x\0y", /NUL byte/],
    ["", /non-empty string/],
    ["keys/crypto.pass", /inside the keyroot/],
    ["files/keys-link/crypto.pass", /inside the keyroot/],
  ])("refuses %j", (rel, message) => {
    expect(() => resolveUnder(root, rel, { forbid: [join(root, "keys")] })).toThrow(message);
  });

  test("accepts paths inside, normalized", () => {
    expect(resolveUnder(root, "files/./nginx/../nginx/nginx.conf")).toEndWith(
      "files/nginx/nginx.conf",
    );
  });
});

describe("FileServer", () => {
  const all = () => new Set(["nginx", "db"]);

  test("fetch returns content, then nothing when the caller has the hash", async () => {
    const src = server().sourceFor(all);
    const first = await src.fetch("files/nginx/nginx.conf");
    expect(new TextDecoder().decode(first.data)).toBe("worker_processes 4;\n");
    expect(first.hash).toBe(hashBytes("worker_processes 4;\n"));
    const again = await src.fetch("files/nginx/nginx.conf", first.hash);
    expect(again).toEqual({ hash: first.hash, size: first.size });
  });

  test("fetch serves only files/, never the keyroot", async () => {
    const src = server().sourceFor(all);
    await expect(src.fetch("keys/crypto.pass")).rejects.toThrow(/must lie under files\//);
    await expect(src.fetch("files/../keys/crypto.pass")).rejects.toThrow(
      /must lie under files\/|keyroot/,
    );
    await expect(src.fetch("files/keys-link/crypto.pass")).rejects.toThrow(/inside the keyroot/);
    await expect(src.read("keys/crypto.pass", 0, 10)).rejects.toThrow(
      /agents read only under files\//,
    );
    await expect(src.read("files/../hosts.ts", 0, 10)).rejects.toThrow(
      /agents read only under files\//,
    );
    await expect(src.scan("/etc")).rejects.toThrow(/agents read only under files\//);
    await expect(src.scan(".")).rejects.toThrow(/agents read only under files\//);
  });

  test(".enc files are decrypted for hosts owning the role, refused to others", async () => {
    const fs = server();
    const got = await fs.sourceFor(all).fetch("files/db/pw");
    expect(new TextDecoder().decode(got.data)).toBe("hunter2");
    await expect(fs.sourceFor(() => new Set(["nginx"])).fetch("files/db/pw")).rejects.toThrow(
      /belongs to role db/,
    );
  });

  test("scan lists entries depth-first with symlinks as links and never the keyroot", async () => {
    const entries = await server().sourceFor(all).scan("files/static");
    expect(entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ["a.txt", "file", 1],
      ["link", "symlink", 5],
      ["sub", "dir", expect.any(Number)],
      ["sub/b.txt", "file", 2],
    ]);
    expect(entries[1]!.target).toBe("a.txt");
    expect(BigInt(entries[0]!.mtimeNs)).toBeGreaterThan(0n);
    const top = await server().sourceFor(all).scan("files");
    expect(top.some((e) => e.path.includes("crypto.pass"))).toBe(false);
  });

  test("hashes answers many paths at once, null where a fetch would fail", async () => {
    const fs = server();
    const paths = [
      "files/nginx/nginx.conf",
      "files/db/pw",
      "files/nope",
      "keys/crypto.pass",
      "files/keys-link/crypto.pass",
      "files/escape/secret",
    ];
    const got = await fs.sourceFor(all).hashes!(paths);
    expect(got).toEqual([
      { hash: hashBytes("worker_processes 4;\n"), size: 20 },
      { hash: hashBytes("hunter2"), size: 7 },
      null,
      null,
      null,
      null,
    ]);
    // A secret of a role the host does not have is no more visible by hash than by fetch.
    expect(await fs.sourceFor(() => new Set(["nginx"])).hashes!(["files/db/pw"])).toEqual([null]);
  });

  test("scanSince sends the entries with their digest, then only the digest while they are unchanged", async () => {
    const src = server().sourceFor(all);
    const first = await src.scanSince!("files/static", "");
    expect(first.entries).toEqual(await src.scan("files/static"));
    expect(await src.scanSince!("files/static", first.digest)).toEqual({ digest: first.digest });
    writeFileSync(join(root, "files/static/new.txt"), "new");
    try {
      // The scan is watched: the change is seen as soon as its event has arrived (a few ms).
      let next = await src.scanSince!("files/static", first.digest);
      for (let i = 0; i < 200 && next.digest === first.digest; i++)
        next = (await Bun.sleep(5), await src.scanSince!("files/static", first.digest));
      expect(next.digest).not.toBe(first.digest);
      expect(next.entries!.map((e) => e.path)).toContain("new.txt");
    } finally {
      rmSync(join(root, "files/static/new.txt"));
    }
    await expect(src.scanSince!("/etc", "")).rejects.toThrow(/agents read only under files\//);
  });

  test("readMany returns what read returns for each, refuses what read refuses and oversized batches", async () => {
    const src = server().sourceFor(all);
    const got = await src.readMany!([
      { path: "files/nginx/nginx.conf", offset: 7, length: 9 },
      { path: "files/static/sub/b.txt", offset: 0, length: 2 },
      { path: "files/db/pw", offset: 0, length: 7 },
    ]);
    expect(got.map((b) => new TextDecoder().decode(b))).toEqual(["processes", "bb", "hunter2"]);
    await expect(
      src.readMany!([{ path: "keys/crypto.pass", offset: 0, length: 10 }]),
    ).rejects.toThrow(/agents read only under files\//);
    await expect(
      src.readMany!([{ path: "files/nginx/nginx.conf", offset: -1, length: 1 }]),
    ).rejects.toThrow(/bad read range/);
    const many = Array.from({ length: limits.maxReadBatch + 1 }, () => ({
      path: "files/static/a.txt",
      offset: 0,
      length: 1,
    }));
    await expect(src.readMany!(many)).rejects.toThrow(/too much in one read batch/);
    const big = [1, 2].map(() => ({
      path: "files/static/a.txt",
      offset: 0,
      length: limits.chunkBytes / 2 + 1,
    }));
    await expect(src.readMany!(big)).rejects.toThrow(/too much in one read batch/);
  });

  test("a fileroot that is a symlink moved by a deploy is followed once its real path is looked up again", async () => {
    using scratch = tempDir("salty-flip-");
    const base = scratch.path;
    for (const r of ["r1", "r2"]) {
      mkdirSync(join(base, r, "files"), { recursive: true });
      writeFileSync(join(base, r, "files/x"), r);
    }
    symlinkSync(join(base, "r1"), join(base, "current"));
    const src = new FileServer({
      fileroot: join(base, "current"),
      keyroot: join(base, "keys"),
    }).sourceFor(all);
    const text = async () => new TextDecoder().decode((await src.fetch("files/x")).data);
    expect(await text()).toBe("r1");
    rmSync(join(base, "current"));
    symlinkSync(join(base, "r2"), join(base, "current"));
    const saved = timing.filerootRecheckMs;
    timing.filerootRecheckMs = 0;
    try {
      expect(await text()).toBe("r2");
    } finally {
      timing.filerootRecheckMs = saved;
    }
  });

  test("read returns a byte range and refuses silly ranges", async () => {
    const src = server().sourceFor(all);
    expect(new TextDecoder().decode(await src.read("files/nginx/nginx.conf", 7, 9))).toBe(
      "processes",
    );
    await expect(src.read("files/nginx/nginx.conf", -1, 9)).rejects.toThrow(/bad read range/);
    await expect(src.read("files/nginx/nginx.conf", 0, 1e12)).rejects.toThrow(/bad read range/);
  });

  test("a scan never lists dot entries; a dot file named directly is served", async () => {
    const src = server().sourceFor(all);
    expect(
      (await src.scan("files/static")).some((e) =>
        e.path.split("/").some((n) => n.startsWith(".")),
      ),
    ).toBe(false);
    expect((await src.scan("files/static/.git")).map((e) => e.path)).toEqual(["config"]);
    expect(new TextDecoder().decode((await src.fetch("files/static/.env")).data)).toBe("TOKEN=1");
  });

  test("nothing at all while the agent has no role run in progress", async () => {
    let active = false;
    const src = server().sourceFor(all, () => active);
    for (const attempt of [
      () => src.fetch("files/nginx/nginx.conf"),
      () => src.read("files/nginx/nginx.conf", 0, 4),
      () => src.scan("files/static"),
      () => src.scanSince!("files/static", ""),
      () => src.readMany!([{ path: "files/nginx/nginx.conf", offset: 0, length: 4 }]),
      () => src.hashes!(["files/nginx/nginx.conf"]),
    ]) {
      await expect(attempt()).rejects.toThrow("file reads are refused outside a role run");
    }
    active = true;
    expect((await src.fetch("files/nginx/nginx.conf")).size).toBe(20);
  });
});

// hashes() remembers sources it confined (lib/master/resolved-sources.ts): what must make it look again.
describe("FileServer hashes of sources confined before", () => {
  const dirs = tempDirs("salty-confined-");
  const all = () => new Set(["app"]);
  const world = () => {
    const [fileroot, outside] = [dirs(), dirs()];
    mkdirSync(join(fileroot, "files/app/conf.d"), { recursive: true });
    writeFileSync(join(fileroot, "files/app/conf.d/app.conf"), "inside");
    writeFileSync(join(outside, "app.conf"), "outside");
    const fs = new FileServer({ fileroot, keyroot: join(fileroot, "keys") });
    return { fileroot, outside, fs, src: fs.sourceFor(all) };
  };
  const inside = [{ hash: hashBytes("inside"), size: 6 }];

  test("a directory on the path moved out of the fileroot and replaced by a symlink: refused, though the file is the same inode", async () => {
    const { fileroot, outside, fs, src } = world();
    try {
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual(inside);
      expect(await src.hashes!(["files/app/./conf.d//app.conf"])).toEqual(inside);
      renameSync(join(fileroot, "files/app/conf.d"), join(outside, "conf.d"));
      symlinkSync(join(outside, "conf.d"), join(fileroot, "files/app/conf.d"));
      // Only the watcher of files/ can tell: its event arrives within a few ms.
      let got = await src.hashes!(["files/app/conf.d/app.conf"]);
      for (let i = 0; i < 200 && got[0] !== null; i++)
        got = (await Bun.sleep(5), await src.hashes!(["files/app/conf.d/app.conf"]));
      expect(got).toEqual([null]);
      await expect(src.fetch("files/app/conf.d/app.conf")).rejects.toThrow(/through a symlink/);
    } finally {
      fs.close();
    }
  });

  test("the file replaced by a symlink out of the fileroot: refused at once", async () => {
    const { fileroot, outside, fs, src } = world();
    try {
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual(inside);
      rmSync(join(fileroot, "files/app/conf.d/app.conf"));
      symlinkSync(join(outside, "app.conf"), join(fileroot, "files/app/conf.d/app.conf"));
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual([null]);
    } finally {
      fs.close();
    }
  });

  test("files/ itself moved out of the fileroot and replaced by a symlink: refused at once", async () => {
    const { fileroot, outside, fs, src } = world();
    try {
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual(inside);
      renameSync(join(fileroot, "files"), join(outside, "files"));
      symlinkSync(join(outside, "files"), join(fileroot, "files"));
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual([null]);
    } finally {
      fs.close();
    }
  });

  test("files/ replaced by a symlink during a pass: refused from the next pass on (files/ is looked at once a pass)", async () => {
    const { fileroot, outside, fs, src } = world();
    try {
      expect(await src.hashes!(["files/app/conf.d/app.conf"], "apply-1")).toEqual(inside);
      renameSync(join(fileroot, "files"), join(outside, "files"));
      symlinkSync(join(outside, "files"), join(fileroot, "files"));
      expect(await src.hashes!(["files/app/conf.d/app.conf"], "apply-2")).toEqual([null]);
      expect(await src.hashes!(["files/app/conf.d/app.conf"], "apply-2")).toEqual([null]);
    } finally {
      fs.close();
    }
  });

  test("a source changed where the watcher cannot see (through a hard link from outside): the next pass sees it", async () => {
    const { fileroot, outside, fs, src } = world();
    try {
      linkSync(join(outside, "app.conf"), join(fileroot, "files/app/linked.conf"));
      const before = [{ hash: hashBytes("outside"), size: 7 }];
      expect(await src.hashes!(["files/app/linked.conf"], "apply-1")).toEqual(before);
      writeFileSync(join(outside, "app.conf"), "changed outside");
      // Within one pass (an apply) a source is checked once, however many hosts ask.
      expect(await src.hashes!(["files/app/linked.conf"], "apply-1")).toEqual(before);
      const after = [{ hash: hashBytes("changed outside"), size: 15 }];
      expect(await src.hashes!(["files/app/linked.conf"], "apply-2")).toEqual(after);
      writeFileSync(join(outside, "app.conf"), "again");
      expect(await src.hashes!(["files/app/linked.conf"])).toEqual([
        { hash: hashBytes("again"), size: 5 },
      ]);
    } finally {
      fs.close();
    }
  });

  test("a source rewritten in place or removed: its new hash, then null", async () => {
    const { fileroot, fs, src } = world();
    try {
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual(inside);
      writeFileSync(join(fileroot, "files/app/conf.d/app.conf"), "changed!");
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual([
        { hash: hashBytes("changed!"), size: 8 },
      ]);
      rmSync(join(fileroot, "files/app/conf.d/app.conf"));
      expect(await src.hashes!(["files/app/conf.d/app.conf"])).toEqual([null]);
    } finally {
      fs.close();
    }
  });
});
