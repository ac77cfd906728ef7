// The one table of file methods: the RPC stubs name each parameter and leave
// undefined ones out, the master's handlers check every parameter before the
// call, and the bridge forwards every method with its arguments in order.
import { describe, expect, test } from "bun:test";
import {
  FILE_METHOD_NAMES,
  fileHandlers,
  fileStubs,
  forwardFiles,
  isFileMethod,
  type FileProtocol,
} from "../../lib/wire/file-methods.ts";

/** A protocol that records each call and answers with its arguments. */
function recording(): { files: FileProtocol; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const files = forwardFiles(async (m, args) => (calls.push([m, ...args]), args));
  return { files, calls };
}

describe("file methods", () => {
  test("the table lists the protocol's five methods, and nothing inherited is one", () => {
    expect(FILE_METHOD_NAMES).toEqual(["fetch", "scan", "scanSince", "read", "readMany"]);
    expect(isFileMethod("readMany")).toBe(true);
    expect(isFileMethod("toString")).toBe(false);
    expect(isFileMethod("hashes")).toBe(false);
  });

  test("stubs send file.METHOD with named parameters, undefined ones left out", async () => {
    const sent: unknown[] = [];
    const stubs = fileStubs(async (method, params) => (sent.push([method, params]), null));
    await stubs.fetch("files/a");
    await stubs.fetch("files/a", "h1");
    await stubs.read("files/a", 0, 10);
    await stubs.readMany([{ path: "files/a", offset: 0, length: 1 }]);
    await stubs.scanSince("files/d", "");
    expect(sent).toEqual([
      ["file.fetch", { path: "files/a" }],
      ["file.fetch", { path: "files/a", have: "h1" }],
      ["file.read", { path: "files/a", offset: 0, length: 10 }],
      ["file.readMany", { reads: [{ path: "files/a", offset: 0, length: 1 }] }],
      ["file.scanSince", { dir: "files/d", have: "" }],
    ]);
  });

  test("handlers exist for every method and pass checked arguments in order", async () => {
    const r = recording();
    const h = fileHandlers(r.files);
    expect(Object.keys(h).sort()).toEqual([
      "file.fetch",
      "file.read",
      "file.readMany",
      "file.scan",
      "file.scanSince",
    ]);
    await h["file.fetch"]({ path: "files/a" });
    await h["file.read"]({ path: "files/a", offset: 5, length: 7 });
    await h["file.readMany"]({ reads: [{ path: "files/b", offset: 0, length: 2 }] });
    expect(r.calls).toEqual([
      ["fetch", "files/a", undefined],
      ["read", "files/a", 5, 7],
      ["readMany", [{ path: "files/b", offset: 0, length: 2 }]],
    ]);
  });

  test.each([
    ["file.fetch", null, "params must be an object, got null"],
    ["file.fetch", { path: 5 }, "path must be a string, got number"],
    ["file.fetch", { path: "files/a", have: 1 }, "have must be a string, got number"],
    [
      "file.read",
      { path: "files/a", offset: "0", length: 1 },
      "offset must be an integer, got string",
    ],
    ["file.readMany", { reads: "all" }, "reads must be a list"],
    [
      "file.readMany",
      { reads: [{ path: "files/a", offset: 0 }] },
      "length must be an integer, got undefined",
    ],
    ["file.scanSince", { dir: "files/d" }, "have must be a string, got undefined"],
  ] as const)("%s %j is refused before the call: %s", async (method, params, message) => {
    const r = recording();
    await expect(fileHandlers(r.files)[method](params)).rejects.toThrow(message);
    expect(r.calls).toEqual([]);
  });
});
