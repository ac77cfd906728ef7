// startWriteback must never fail a write: it only hints the kernel. On Linux
// it goes through libc's sync_file_range, which these calls exercise.
import { expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { startWriteback } from "../../lib/sys/writeback.ts";
import { tempDir } from "../_temp.ts";

test("starting the writeback of a written file leaves its content as written", () => {
  using scratch = tempDir("salty-wb-");
  const dir = scratch.path;
  const fd = openSync(join(dir, "f"), "w");
  writeSync(fd, "content\n");
  expect(() => startWriteback(fd)).not.toThrow();
  closeSync(fd);
  expect(readFileSync(join(dir, "f"), "utf8")).toBe("content\n");
});

test("a bad descriptor is not an error (the fsync that follows reports real failures)", () => {
  expect(() => startWriteback(-1)).not.toThrow();
});
