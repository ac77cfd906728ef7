// The master sends, with a role request, the hashes of the files that role fetched on that agent last time.
import { describe, expect, test } from "bun:test";
import { knownFilesFor, rememberFetched } from "../../lib/master/known-files.ts";
import type { AgentFiles } from "../../lib/master/fileserver.ts";

const files: AgentFiles = {
  fetch: async () => ({ hash: "", size: 0 }),
  scan: async () => [],
  scanSince: async () => ({ digest: "" }),
  read: async () => new Uint8Array(),
  readMany: async () => [],
  hashes: async (paths) => paths.map((p) => (p === "files/gone" ? null : { hash: `hash of ${p}`, size: p.length })),
};

describe("known files", () => {
  test("nothing is known before a run reported what it fetched", async () => {
    expect(await knownFilesFor({}, "web", files)).toBeUndefined();
  });

  test("the hashes of what the last run of that role fetched on that connection, less files that fail", async () => {
    const conn = {};
    rememberFetched(conn, "web", ["files/web/a", "files/gone"]);
    rememberFetched(conn, "db", ["files/db/b"]);
    expect(await knownFilesFor(conn, "web", files)).toEqual({ "files/web/a": { hash: "hash of files/web/a", size: 11 } });
    expect(Object.keys((await knownFilesFor(conn, "db", files))!)).toEqual(["files/db/b"]);
    expect(await knownFilesFor({}, "web", files)).toBeUndefined(); // another connection
    rememberFetched(conn, "web", ["files/web/c"]);
    expect(Object.keys((await knownFilesFor(conn, "web", files))!)).toEqual(["files/web/c"]);
  });

  test("a report's list is taken only as strings, and nothing without a file source", async () => {
    const conn = {};
    rememberFetched(conn, "web", ["files/a", 42, { evil: true }]);
    expect(Object.keys((await knownFilesFor(conn, "web", files))!)).toEqual(["files/a"]);
    rememberFetched(conn, "web", "files/a");
    expect(Object.keys((await knownFilesFor(conn, "web", files))!)).toEqual(["files/a"]); // not a list: ignored
    expect(await knownFilesFor(conn, "web", undefined)).toBeUndefined();
  });
});
