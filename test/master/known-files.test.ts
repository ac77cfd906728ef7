// The master sends, with a role request, the hashes of the files that role fetched on that agent last time.
import { describe, expect, test } from "bun:test";
import { KnownFiles } from "../../lib/master/known-files.ts";
import type { AgentFiles } from "../../lib/master/fileserver.ts";

const files: AgentFiles = {
  fetch: async () => ({ hash: "", size: 0 }),
  scan: async () => [],
  scanSince: async () => ({ digest: "" }),
  read: async () => new Uint8Array(),
  readMany: async () => [],
  hashes: async (paths) =>
    paths.map((p) => (p === "files/gone" ? null : { hash: `hash of ${p}`, size: p.length })),
};

describe("known files", () => {
  test("nothing is known before a run reported what it fetched", async () => {
    expect(await new KnownFiles().for("web", files)).toBeUndefined();
  });

  test("the hashes of what the last run of that role fetched on that connection, less files that fail", async () => {
    const conn = new KnownFiles();
    conn.remember("web", ["files/web/a", "files/gone"]);
    conn.remember("db", ["files/db/b"]);
    expect(await conn.for("web", files)).toEqual({
      "files/web/a": { hash: "hash of files/web/a", size: 11 },
    });
    expect(Object.keys((await conn.for("db", files))!)).toEqual(["files/db/b"]);
    expect(await new KnownFiles().for("web", files)).toBeUndefined(); // another connection
    conn.remember("web", ["files/web/c"]);
    expect(Object.keys((await conn.for("web", files))!)).toEqual(["files/web/c"]);
  });

  test("a report's list is taken only as strings, and nothing without a file source", async () => {
    const conn = new KnownFiles();
    conn.remember("web", ["files/a", 42, { evil: true }]);
    expect(Object.keys((await conn.for("web", files))!)).toEqual(["files/a"]);
    conn.remember("web", "files/a");
    expect(Object.keys((await conn.for("web", files))!)).toEqual(["files/a"]); // not a list: ignored
    expect(await conn.for("web", undefined)).toBeUndefined();
  });
});
