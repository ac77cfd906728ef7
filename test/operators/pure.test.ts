// Tables for the pure pieces of the operators: user commands per platform,
// syncdir's exclude matching and time comparison, lineInFile's edit, paths.

import { describe, expect, test } from "bun:test";
import { diffTrees, excluder, sameTime } from "../../lib/operators/_tree-diff.ts";
import { useraddCommands, usergroupsCommands } from "../../lib/operators/_user-commands.ts";
import { ancestors, destination, sourceDir, sourceFile } from "../../lib/operators/_paths.ts";
import { editLines } from "../../lib/operators/line-in-file.ts";
import { clusterIps } from "../../lib/agent/addresses.ts";
import { baseContext } from "./_world.ts";

describe("useraddCommands", () => {
  const none = { userExists: false, groupExists: false };
  test.each([
    [
      "linux system",
      "linux",
      true,
      none,
      [
        ["groupadd", "--system", "web"],
        ["useradd", "--system", "--gid", "web", "web"],
      ],
    ],
    [
      "linux group there",
      "linux",
      false,
      { userExists: false, groupExists: true },
      [["useradd", "--create-home", "--gid", "web", "web"]],
    ],
    [
      "linux user there, group missing",
      "linux",
      false,
      { userExists: true, groupExists: false },
      [["groupadd", "web"]],
    ],
    [
      "busybox system",
      "busybox",
      true,
      none,
      [
        ["addgroup", "-S", "web"],
        ["adduser", "-D", "-S", "-H", "-G", "web", "web"],
      ],
    ],
    [
      "busybox",
      "busybox",
      false,
      none,
      [
        ["addgroup", "web"],
        ["adduser", "-D", "-G", "web", "web"],
      ],
    ],
  ] as const)("%s", (_n, platform, system, state, want) => {
    expect(useraddCommands(platform, "web", system, state)).toEqual(want as unknown as string[][]);
  });

  test("macOS: dscl records with a free id, the group's gid when it exists", () => {
    const fresh = useraddCommands("darwin", "web", true, { ...none, freeId: 301 });
    expect(fresh[0]).toEqual(["dscl", ".", "-create", "/Groups/web"]);
    expect(fresh).toContainEqual(["dscl", ".", "-create", "/Groups/web", "PrimaryGroupID", "301"]);
    expect(fresh).toContainEqual(["dscl", ".", "-create", "/Users/web", "UniqueID", "301"]);
    expect(fresh).toContainEqual(["dscl", ".", "-create", "/Users/web", "PrimaryGroupID", "301"]);
    const withGroup = useraddCommands("darwin", "web", false, {
      userExists: false,
      groupExists: true,
      gid: 20,
      freeId: 502,
    });
    expect(withGroup).toContainEqual([
      "dscl",
      ".",
      "-create",
      "/Users/web",
      "PrimaryGroupID",
      "20",
    ]);
    expect(withGroup.some((a) => a.includes("/Groups/web"))).toBe(false);
  });
});

describe("usergroupsCommands", () => {
  test.each([
    ["linux", "linux", ["a", "b"], ["b", "c"], [["usermod", "-G", "b,c", "u"]]],
    ["linux to none", "linux", ["a"], [], [["usermod", "-G", "", "u"]]],
    ["same", "linux", ["a"], ["a"], []],
    [
      "busybox",
      "busybox",
      ["a", "b"],
      ["b", "c"],
      [
        ["addgroup", "u", "c"],
        ["delgroup", "u", "a"],
      ],
    ],
    [
      "darwin",
      "darwin",
      ["a"],
      ["c"],
      [
        ["dseditgroup", "-o", "edit", "-a", "u", "-t", "user", "c"],
        ["dseditgroup", "-o", "edit", "-d", "u", "-t", "user", "a"],
      ],
    ],
  ] as const)("%s", (_n, platform, have, want, cmds) => {
    expect(usergroupsCommands(platform, "u", [...have], [...want])).toEqual(
      cmds as unknown as string[][],
    );
  });
});

describe("syncdir exclude", () => {
  const ex = excluder(["drafts", "*.tmp", "css/gen/", "img/*.png"]);
  test.each([
    ["drafts", true],
    ["drafts/x.html", false], // below an excluded dir: the walk drops it with its parent
    ["notes.tmp", true],
    ["deep/er/notes.tmp", true],
    ["css/gen", true],
    ["img/a.png", true],
    ["img/sub/a.png", false],
    ["index.html", false],
  ])("%s -> %p", (path, want) => expect(ex(path)).toBe(want));
});

describe("syncdir diff of unchanged trees (remembered by the arrays' identity)", () => {
  const item = (path: string, type: "file" | "dir", size = 0) => ({
    path,
    type,
    size,
    mtimeNs: "1700000000000000000",
    mode: 0o644,
    uid: 0,
    gid: 0,
  });
  const src = [item("a", "dir"), item("a/x", "file", 3), item("b", "file", 5)];
  const opts = {
    src: "files/t",
    dst: "/srv/t",
    owner: { uid: 0, gid: 0 },
    exclude: [".*"],
    delete: true,
  };
  test("the same arrays again: nothing to do, counts a fresh object each time", () => {
    const dst = src.map((i) => ({ ...i }));
    const first = diffTrees(src, dst, opts);
    expect(first.changes).toEqual([]);
    first.counts.fixed = 9; // syncdir adds to the counts it gets
    const again = diffTrees(src, dst, opts);
    expect(again).toEqual({ changes: [], counts: { added: 0, updated: 0, removed: 0 } });
  });
  test("a new destination array, other options or a change are diffed afresh", () => {
    const dst = src.map((i) => ({ ...i }));
    expect(diffTrees(src, dst, opts).changes).toEqual([]);
    const missing = dst.filter((i) => i.path !== "b");
    expect(diffTrees(src, missing, opts).changes.map((c) => c.kind)).toEqual(["fetch"]);
    expect(diffTrees(src, missing, opts).changes.map((c) => c.kind)).toEqual(["fetch"]);
    expect(diffTrees(src, dst, { ...opts, owner: { uid: 7, gid: 0 } }).counts.fixed).toBe(3);
    expect(diffTrees(src, dst, { ...opts, dst: "/srv/u" }).changes).toEqual([]);
  });
});

test.each([
  ["1700000000123456789", "1700000000123456716", true],
  ["1700000000123456789", "1700000000123457789", false],
  ["1700000000000000000", "1700000001000000000", false],
  ["1700000000999999999", "1700000001000000000", true], // 1 ns apart, across a second
  ["1700000001000000500", "1700000000999999999", true],
  ["1700000001000001000", "1700000001000000000", false], // exactly 1 µs
  ["1700000001000000999", "1700000001000000000", true],
  ["999", "1999", false],
  ["999", "999", true],
])("sameTime(%s, %s) = %p", (a, b, want) => expect(sameTime(a, b)).toBe(want));

describe("editLines", () => {
  test.each([
    ["", "x", undefined, "x\n"],
    ["a\n", "a", undefined, undefined],
    ["a", "a", undefined, undefined],
    ["a", "b", undefined, "a\nb\n"],
    ["a\nold\nold\n", "new", "old", "a\nnew\nold\n"],
    ["a\n\n", "", undefined, undefined],
    ["ab\n", "a", undefined, "ab\na\n"],
  ])("%p + %p (replace %p)", (text, line, replace, want) =>
    expect(editLines(text, line, replace)).toBe(want),
  );
});

describe("paths", () => {
  test("destinations are absolute, normalized, and land under the prefix", () => {
    expect(destination({ pathPrefix: "/tmp/p" }, "/etc//x/../y/")).toEqual({
      path: "/etc/y",
      real: "/tmp/p/etc/y",
    });
    expect(destination({ pathPrefix: "" }, "/etc/y")).toEqual({ path: "/etc/y", real: "/etc/y" });
    expect(() => destination({ pathPrefix: "" }, "etc/y")).toThrow("path must be absolute: etc/y");
    expect(() => destination({ pathPrefix: "" }, 3)).toThrow("path must be a non-empty string");
  });
  test("sources stay inside files/ or the fileroot", () => {
    expect(sourceFile("nginx/./x.conf")).toBe("files/nginx/x.conf");
    expect(() => sourceFile("../keys/x")).toThrow("inside files/");
    expect(() => sourceFile("/etc/passwd")).toThrow("inside files/");
    expect(sourceDir("files/app/static/")).toBe("files/app/static");
    expect(() => sourceDir("a/../../x")).toThrow("inside the fileroot");
  });
  test("ancestors", () => expect(ancestors("/a/b/c")).toEqual(["/a/b", "/a", "/"]));
});

test("getIps: private IPv4s of my cluster's hosts with the role, me included, sorted numerically", () => {
  const iface = (ipv4: string, is_private = true) => ({
    device: "eth0",
    mac: "",
    ipv4,
    ipv4_network: "",
    is_private,
    is_public: !is_private,
    is_loopback: false,
    is_bridge: false,
  });
  const facts = (ip: string) => ({
    kernel: "Linux" as const,
    machine: "x86_64",
    os: { name: "", version: "" },
    cpu_count: 1,
    mem_gb: 1,
    hostname: "",
    networking: { interfaces: [iface("1.2.3.4", false), iface(ip)] },
  });
  const host = (cluster: string, roles: string[], ip: string) => ({
    env: "dev",
    cluster,
    roles,
    vars: {},
    facts: facts(ip),
  });
  const ctx = {
    ...baseContext,
    me: host("lab", ["redis"], "10.0.0.10"),
    hosts: {
      a: host("lab", ["redis"], "10.0.0.9"),
      b: host("lab", ["web"], "10.0.0.8"),
      c: host("prod", ["redis"], "10.0.0.7"),
      d: host("lab", ["redis"], "10.0.0.100"),
    },
  };
  expect(clusterIps(ctx, "redis")).toEqual(["10.0.0.9", "10.0.0.10", "10.0.0.100"]);
  expect(clusterIps(ctx, "none")).toEqual([]);
});
