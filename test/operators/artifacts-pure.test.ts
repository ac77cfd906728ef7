// The pure parts of git(), unarchive() and release(): the remote's commit from
// `git ls-remote` output, the checks of an archive's listing (captured from
// GNU tar 1.34 -tvf), a link target that stays inside, the releases to prune.
import { describe, expect, test } from "bun:test";
import {
  archiveFormat,
  checkTarListing,
  escapes,
  linkInside,
} from "../../lib/operators/_archive.ts";
import { resolveRemote } from "../../lib/operators/git.ts";
import { checkSha256, checkUrl, plainUrl } from "../../lib/operators/download.ts";
import { toPrune } from "../../lib/operators/release.ts";

const A = "a".repeat(40),
  B = "b".repeat(40),
  C = "c".repeat(40);

describe("resolveRemote", () => {
  const ls = `${A}\tHEAD\n${A}\trefs/heads/main\n${B}\trefs/tags/v1\n${C}\trefs/tags/v1^{}\n${B}\trefs/remotes/x/main\n`;
  test("a branch, HEAD, an annotated tag (its commit), a missing name", () => {
    expect(resolveRemote(ls, "main")).toEqual({ commit: A, ref: "refs/heads/main" });
    expect(resolveRemote(ls, "HEAD")).toEqual({ commit: A, ref: "HEAD" });
    expect(resolveRemote(ls, "v1")).toEqual({ commit: C, ref: "refs/tags/v1" });
    expect(resolveRemote(`${B}\trefs/tags/v2\n`, "v2")).toEqual({ commit: B, ref: "refs/tags/v2" });
    expect(resolveRemote(ls, "x")).toBeUndefined();
    expect(resolveRemote("garbage\n", "main")).toBeUndefined();
  });
});

describe("archive checks", () => {
  test("formats by name", () => {
    expect(archiveFormat("a.tgz")).toBe("tar.gz");
    expect(archiveFormat("a.tar.gz")).toBe("tar.gz");
    expect(archiveFormat("a.tar.xz")).toBe("tar.xz");
    expect(archiveFormat("a.zip")).toBe("zip");
    expect(() => archiveFormat("a.tar.bz2")).toThrow("not a .tar.gz");
  });
  test("names that escape", () => {
    expect(escapes("/etc/passwd")).toBe("is absolute");
    expect(escapes("a/../../b")).toBe('goes up with ".."');
    expect(escapes("./a/b..c")).toBeUndefined();
  });
  test("link targets", () => {
    expect(linkInside("a/b/link", "../c")).toBe(true);
    expect(linkInside("a/link", "../../etc")).toBe(false);
    expect(linkInside("link", "/etc")).toBe(false);
    expect(linkInside("a/link", "./x/../../y")).toBe(true);
    expect(linkInside("link", "x/../../y")).toBe(false);
  });
  test("a tar listing: files and inside links pass; a link out, a hard link out, a device, an unreadable listing are refused", () => {
    const names = ["./", "./bin/", "./bin/run", "./README", "./bin/r2"];
    const verbose = [
      "drwxr-xr-x root/root         0 2026-12-03 13:40 ./",
      "drwxr-xr-x root/root         0 2026-12-03 13:40 ./bin/",
      "-rwxr-xr-x root/root        17 2026-12-03 13:40 ./bin/run",
      "-rw-r--r-- root/root         4 2026-12-03 13:40 ./README",
      "lrwxrwxrwx root/root         0 2026-12-03 13:40 ./bin/r2 -> run",
    ];
    expect(checkTarListing(names, verbose)).toBeUndefined();
    expect(
      checkTarListing(["etc"], ["lrwxrwxrwx root/root 0 2026-12-03 13:40 etc -> ../../etc"]),
    ).toContain("is a link out of the destination");
    // A name holding " -> " cannot hide a target: the name is known from tar -tf.
    expect(
      checkTarListing(["x -> y"], ["lrwxrwxrwx root/root 0 2026-12-03 13:40 x -> y -> ../../etc"]),
    ).toContain("link out");
    expect(
      checkTarListing(["h"], ["hrw-r--r-- root/root 0 2026-12-03 13:40 h link to ../x"]),
    ).toContain("hard link out");
    expect(checkTarListing(["null"], ["crw-rw-rw- root/root 1,3 2026-12-03 13:40 null"])).toContain(
      "device or special file",
    );
    expect(checkTarListing(["a", "b"], ["-rw-r--r-- root/root 0 2026-12-03 13:40 a"])).toContain(
      "could not be read",
    );
  });
});

describe("download arguments", () => {
  test("urls, hashes, credentials never shown", () => {
    expect(() => checkUrl("ftp://x/y")).toThrow("http or https");
    expect(checkSha256("A".repeat(64))).toBe("a".repeat(64));
    expect(() => checkSha256("xyz")).toThrow("64 hex digits");
    expect(plainUrl("https://user:s3cret@host/a.tgz")).toBe("https://host/a.tgz");
    expect(plainUrl("https://x-token:s3cret@github.com/acme/app.git")).toBe(
      "https://github.com/acme/app.git",
    );
    expect(plainUrl("git@github.com:acme/app.git")).toBe("git@github.com:acme/app.git");
    expect(plainUrl("/srv/git/app.git")).toBe("/srv/git/app.git");
  });
});

describe("toPrune", () => {
  test("keeps the new version and the newest others; by time made, then name", () => {
    const r = [
      { name: "1", mtimeNs: 1n },
      { name: "2", mtimeNs: 2n },
      { name: "3", mtimeNs: 3n },
    ];
    expect(toPrune(r, 2, "4")).toEqual(["2", "1"]);
    expect(toPrune(r, 2, "1")).toEqual(["2"]);
    expect(toPrune(r, 5, "4")).toEqual([]);
  });
});
