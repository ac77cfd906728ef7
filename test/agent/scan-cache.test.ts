// ScanCache: an unchanged source tree is answered by digest, and the entries come from what the master sent before.
import { describe, expect, test } from "bun:test";
import { ScanCache } from "../../lib/agent/scan-cache.ts";
import type { ScanReply, TreeEntry } from "../../lib/sys/types.ts";
import type { FileProtocol } from "../../lib/wire/file-methods.ts";

const entry = (path: string): TreeEntry => ({
  path,
  type: "file",
  size: 1,
  mtimeNs: "1",
  mode: 0o644,
});

function master(
  tree: Record<string, TreeEntry[]>,
  reply?: (dir: string, have: string) => ScanReply,
) {
  const calls: string[] = [];
  const digest = (dir: string) => `d:${JSON.stringify(tree[dir])}`;
  const source: Pick<FileProtocol, "scan" | "scanSince"> = {
    async scan(dir) {
      calls.push(`scan ${dir}`);
      return tree[dir]!;
    },
    async scanSince(dir, have) {
      calls.push(`since ${dir} ${have ? "held" : "none"}`);
      if (reply) return reply(dir, have);
      return digest(dir) === have ? { digest: have } : { digest: digest(dir), entries: tree[dir]! };
    },
  };
  return { source, calls, tree };
}

describe("ScanCache", () => {
  test("entries are sent once; an unchanged tree comes back from the cache; a changed one anew", async () => {
    const m = master({ "files/a": [entry("x")], "files/b": [entry("y")] });
    const scans = new ScanCache();
    expect(await scans.scan(m.source, "files/a")).toEqual([entry("x")]);
    expect(await scans.scan(m.source, "files/a")).toEqual([entry("x")]);
    expect(await scans.scan(m.source, "files/b")).toEqual([entry("y")]);
    m.tree["files/a"] = [entry("x"), entry("z")];
    expect(await scans.scan(m.source, "files/a")).toEqual([entry("x"), entry("z")]);
    expect(m.calls).toEqual([
      "since files/a none",
      "since files/a held",
      "since files/b none",
      "since files/a held",
    ]);
  });

  test("a reply naming a digest it does not hold falls back to a plain scan", async () => {
    const m = master({ "files/a": [entry("x")] }, () => ({ digest: "other" }));
    expect(await new ScanCache().scan(m.source, "files/a")).toEqual([entry("x")]);
    expect(m.calls).toEqual(["since files/a none", "scan files/a"]);
  });
});
