// Atomic writes after a crash: the temporary file a killed agent left beside a
// destination is replaced by the next write of that destination, not kept
// forever; overlapping writes of one destination still get their own names.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { realDisk } from "../../lib/sys/disk.ts";
import { createRuntime } from "../../lib/sys/runtime.ts";
import { claimTemp, tempName, writeAtomic } from "../../lib/operators/_write.ts";
import { tempDirs } from "../_temp.ts";

const scratch = tempDirs("salty-atomic-");
const ctx = { disk: realDisk, runtime: createRuntime({ gcEveryBytes: 0 }) };
const owner = { uid: process.getuid!(), gid: process.getgid!() };
const bytes = (s: string) => new TextEncoder().encode(s);

describe("atomic writes after a crash", () => {
  test("a torn temporary file of an earlier write is replaced; only the destination remains", async () => {
    const d = scratch();
    const dst = join(d, "app.conf");
    writeFileSync(tempName(dst), "half of a file a killed agent was writing");
    await writeAtomic(ctx, dst, { mode: 0o644, owner }, (h) => h.write(bytes("whole\n")));
    expect(readFileSync(dst, "utf8")).toBe("whole\n");
    expect(readdirSync(d)).toEqual(["app.conf"]);
  });

  test("a symlink or a directory left at the temporary name is cleared, never followed", async () => {
    const d = scratch();
    const victim = join(d, "victim");
    writeFileSync(victim, "untouched\n");
    const dst = join(d, "x");
    symlinkSync(victim, tempName(dst));
    await writeAtomic(ctx, dst, { mode: 0o600, owner }, (h) => h.write(bytes("new\n")));
    expect(readFileSync(victim, "utf8")).toBe("untouched\n");
    expect(readFileSync(dst, "utf8")).toBe("new\n");
    expect(readdirSync(d).sort()).toEqual(["victim", "x"]);
  });

  test("two overlapping writes of one destination use two temporary names; both finish", async () => {
    const d = scratch();
    const dst = join(d, "f");
    const first = await claimTemp(ctx, dst);
    const second = await claimTemp(ctx, dst);
    expect(second.tmp).not.toBe(first.tmp);
    first.done();
    second.done();
    await Promise.all(
      ["a", "b"].map((s) =>
        writeAtomic(ctx, dst, { mode: 0o644, owner }, (h) => h.write(bytes(s))),
      ),
    );
    expect(["a", "b"]).toContain(readFileSync(dst, "utf8"));
    expect(readdirSync(d)).toEqual(["f"]);
  });
});
