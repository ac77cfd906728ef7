// The bundle's tar writer and reader (lib/deploy/tar-write.ts, tar-read.ts)
// and the top.ts literal parser (topfile.ts): a round trip with long names
// (pax), symlinks and modes; what the system's tar makes reads back; top.ts
// shapes accepted and refused.
import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { tempDirs } from "../_temp.ts";
import { TarWriter } from "../../lib/deploy/tar-write.ts";
import { extractBundle } from "../../lib/deploy/tar-read.ts";
import { topSection } from "../../lib/deploy/topfile.ts";

const temp = tempDirs("salty-tar-");
const limits = { maxEntries: 100, maxBytes: 10_000_000 };

function tree(): string {
  const src = temp();
  const long = "d".repeat(60) + "/" + "e".repeat(80);
  mkdirSync(join(src, long), { recursive: true });
  writeFileSync(join(src, long, "file-with-a-long-name.txt"), "deep\n");
  writeFileSync(join(src, "run.sh"), "#!/bin/sh\n");
  chmodSync(join(src, "run.sh"), 0o4755);
  symlinkSync("run.sh", join(src, "link"));
  writeFileSync(join(src, "big.bin"), new Uint8Array(3_000_000).fill(7));
  return src;
}

describe("tar", () => {
  test("our writer, our reader: long names, modes without set-id bits, symlinks, content", async () => {
    const src = tree();
    const out = temp();
    const w = await TarWriter.create(join(out, "b.tar"));
    await w.tree("", src);
    await w.close();
    const got = await extractBundle(join(out, "b.tar"), join(out, "x"), limits);
    expect(got.bytes).toBe(3_000_000 + 5 + 10);
    expect(
      readFileSync(
        join(out, "x", "d".repeat(60), "e".repeat(80), "file-with-a-long-name.txt"),
        "utf8",
      ),
    ).toBe("deep\n");
    expect(statSync(join(out, "x/run.sh")).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(join(out, "x/link"))).toBe("run.sh");
    expect(readFileSync(join(out, "x/big.bin")).equals(Buffer.alloc(3_000_000, 7))).toBe(true);
  });

  test("the system's tar (./ prefixes, GNU long names) reads back; the limits hold", async () => {
    const src = tree();
    const out = temp();
    expect(Bun.spawnSync(["tar", "-C", src, "-cf", join(out, "b.tar"), "."]).exitCode).toBe(0);
    await extractBundle(join(out, "b.tar"), join(out, "x"), limits);
    expect(
      readFileSync(
        join(out, "x", "d".repeat(60), "e".repeat(80), "file-with-a-long-name.txt"),
        "utf8",
      ),
    ).toBe("deep\n");
    await expect(
      extractBundle(join(out, "b.tar"), join(out, "y"), { maxEntries: 3, maxBytes: 1e9 }),
    ).rejects.toThrow(/more than 3 entries/);
    await expect(
      extractBundle(join(out, "b.tar"), join(out, "z"), { maxEntries: 100, maxBytes: 1000 }),
    ).rejects.toThrow(/more than 1000 bytes/);
  });
});

describe("top.ts", () => {
  test.each([
    [
      `export default { prod: { "role:web and env:prod": ["app", "db"], web1: ['x'] } };`,
      [
        ["role:web and env:prod", ["app", "db"]],
        ["web1", ["x"]],
      ],
    ],
    [
      `// c\nexport default { /* c */ prod: { "*": ["app",], }, } satisfies Record<string, Record<string, string[]>>;\n`,
      [["*", ["app"]]],
    ],
    [`const x: number = 1;\nexport default { prod: {} };`, null],
    [`export default { prod: { "*": [process.env.X] } };`, null],
    [`export default { prod: { "*": ["../evil"] } };`, null],
    [`export default { prod: { "role:": ["app"] } };`, null],
    [`export default { dev: {} };`, null],
  ] as const)("%s", (source, want) => {
    if (want === null) expect(() => topSection(source, "prod")).toThrow(/^top\.ts: /);
    else expect(topSection(source, "prod").map((s) => [s.target, s.roles])).toEqual(want as never);
  });
});
