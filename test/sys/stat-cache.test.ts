// StatCache, the one stat-keyed cache of the agent (destination hashes) and the
// master (source hashes, decrypted .enc content): a value is trusted while the
// file's identity is unchanged, except within the racy window of when it was
// taken (a write in the same timestamp tick can leave size and times as they were).
import { expect, test } from "bun:test";
import { timing } from "../../lib/constants.ts";
import { StatCache, type StatIdentity } from "../../lib/sys/stat-cache.ts";

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const racyNs = BigInt(timing.statRacyMs) * 1_000_000n;
const id = (ctimeNs: bigint, over: Partial<StatIdentity> = {}): StatIdentity => ({
  dev: 1n,
  ino: 2n,
  size: 3,
  mtimeNs: ctimeNs,
  ctimeNs,
  ...over,
});

test("a value taken long after the file's last change is trusted while its identity holds", () => {
  const c = new StatCache<string>();
  const st = id(nowNs() - 2n * racyNs);
  c.set("/f", st, "h1");
  expect(c.get("/f", st)).toBe("h1");
  expect(c.get("/f", { ...st })).toBe("h1");
});

test.each([
  ["size", { size: 4 }],
  ["inode", { ino: 9n }],
  ["device", { dev: 9n }],
  ["mtime", { mtimeNs: 1n }],
])("a changed %s is a miss", (_, over) => {
  const c = new StatCache<string>();
  const st = id(nowNs() - 2n * racyNs);
  c.set("/f", st, "h1");
  expect(c.get("/f", { ...st, ...over })).toBeUndefined();
});

test("a value taken within the racy window of the file's change is not trusted, the identity the same", () => {
  const c = new StatCache<Uint8Array>();
  const st = id(nowNs());
  c.set("/f", st, new Uint8Array([1]));
  expect(c.get("/f", st)).toBeUndefined();
  expect(c.has("/f")).toBe(true);
  c.delete("/f");
  expect(c.size).toBe(0);
});
