// The running master's key files, read once while their stat is unchanged
// (lib/master/key-cache.ts): each way a key file changes must reach the very
// next decision, with no file event relied on. Real files in a temp keyroot;
// `salty keys` run by another process is played by a second, uncached
// KeyStore on the same keyroot. The racy window is shortened so that what was
// read is trusted (cached) after `settle()`.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { timing } from "../../lib/constants.ts";
import { KeyStore } from "../../lib/master/keystore.ts";
import { CachedKeyFiles } from "../../lib/master/key-cache.ts";
import { encodeKey } from "../../lib/crypto/keys.ts";
import type { Decision, Peer } from "../../lib/wire/secure.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const keyroot = tempDirs("salty-keycache-");
const racy = timing.statRacyMs;
beforeEach(() => {
  timing.statRacyMs = 30;
});
afterEach(() => {
  timing.statRacyMs = racy;
});
/** Past the racy window: what is read from now on is kept. */
const settle = () => Bun.sleep(50);

const peer = (id: string, kind: Peer["kind"] = "agent"): Peer => ({
  id,
  kind,
  publicKey: nacl.sign.keyPair().publicKey,
});

function cached(root: string, opts: { autoAccept?: boolean } = {}) {
  const records = new CachedKeyFiles(root);
  expect(records.caching).toBe(true); // a temp dir on a local file system: else this file tests nothing
  return new KeyStore(root, opts, records);
}

/** Decided twice after the racy window: the second answer comes from what the first read. */
async function warm(ks: KeyStore, p: Peer): Promise<string> {
  await settle();
  await ks.decide(p);
  return code(await ks.decide(p));
}

const code = (d: Decision) => (d.accept ? "accepted" : d.code);

describe("the master's key cache", () => {
  test("salty keys accept, reject and delete in another process count at the next decision", async () => {
    const root = keyroot();
    const ks = cached(root);
    const other = new KeyStore(root); // `salty keys`
    const p = peer("web1");
    expect(code(await ks.decide(p))).toBe("E_KEY_PENDING");
    expect(await warm(ks, p)).toBe("E_KEY_PENDING");
    await other.accept("web1");
    expect(code(await ks.decide(p))).toBe("accepted");
    expect(await warm(ks, p)).toBe("accepted");
    expect(await ks.stillAccepted(p)).toBe(true);
    await other.reject("web1");
    expect(await ks.stillAccepted(p)).toBe(false);
    expect(code(await ks.decide(p))).toBe("E_KEY_REJECTED");
    expect(await warm(ks, p)).toBe("E_KEY_REJECTED");
    await other.delete("web1");
    expect(code(await ks.decide(p))).toBe("E_KEY_PENDING");
  });

  test("by hand: a key written into accepted/, edited in place, moved to rejected/, deleted", async () => {
    const root = keyroot();
    const ks = cached(root);
    const p = peer("db1");
    const file = join(root, "agents/accepted/db1.pub");
    expect(code(await ks.decide(p))).toBe("E_KEY_PENDING");
    unlinkSync(join(root, "agents/pending/db1.pub"));
    mkdirSync(join(root, "agents/accepted"), { recursive: true });
    writeFileSync(file, encodeKey(p.publicKey) + "\n");
    expect(await warm(ks, p)).toBe("accepted");
    // The same file rewritten in place (same inode, same size) with a reinstalled host's key: the old key is refused.
    writeFileSync(file, encodeKey(nacl.sign.keyPair().publicKey) + "\n");
    expect(code(await ks.decide(p))).toBe("E_KEY_MISMATCH");
    expect(await ks.stillAccepted(p)).toBe(false);
    writeFileSync(file, encodeKey(p.publicKey) + "\n");
    expect(await warm(ks, p)).toBe("accepted");
    mkdirSync(join(root, "agents/rejected"), { recursive: true });
    renameSync(file, join(root, "agents/rejected/db1.pub"));
    expect(code(await ks.decide(p))).toBe("E_KEY_REJECTED");
    expect(await warm(ks, p)).toBe("E_KEY_REJECTED");
    unlinkSync(join(root, "agents/rejected/db1.pub"));
    expect(code(await ks.decide(p))).toBe("E_KEY_PENDING");
  });

  test("a copy put in rejected/ beside the accepted one counts at once", async () => {
    const root = keyroot();
    const ks = cached(root);
    const p = peer("db2");
    mkdirSync(join(root, "agents/accepted"), { recursive: true });
    writeFileSync(join(root, "agents/accepted/db2.pub"), encodeKey(p.publicKey) + "\n");
    expect(await warm(ks, p)).toBe("accepted");
    mkdirSync(join(root, "agents/rejected"), { recursive: true });
    writeFileSync(join(root, "agents/rejected/db2.pub"), encodeKey(p.publicKey) + "\n");
    expect(code(await ks.decide(p))).toBe("E_KEY_REJECTED");
    expect(await ks.stillAccepted(p)).toBe(false);
  });

  test("the accepted directory replaced whole (a restored backup) or removed", async () => {
    const root = keyroot();
    const ks = cached(root);
    const a = peer("a1");
    const b = peer("b1");
    const dir = join(root, "agents/accepted");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a1.pub"), encodeKey(a.publicKey) + "\n");
    // The restored copy holds b1, and an a1 with another key written as long ago as the first.
    mkdirSync(join(root, "new"));
    writeFileSync(join(root, "new/b1.pub"), encodeKey(b.publicKey) + "\n");
    writeFileSync(join(root, "new/a1.pub"), encodeKey(nacl.sign.keyPair().publicKey) + "\n");
    expect(await warm(ks, a)).toBe("accepted");
    renameSync(dir, join(root, "old"));
    renameSync(join(root, "new"), dir);
    expect(code(await ks.decide(a))).toBe("E_KEY_MISMATCH");
    expect(code(await ks.decide(b))).toBe("accepted");
    expect(await warm(ks, b)).toBe("accepted");
    rmSync(dir, { recursive: true });
    expect(code(await ks.decide(b))).toBe("E_KEY_PENDING");
  });

  test("its own writes (--auto-accept) count at once", async () => {
    const ks = cached(keyroot(), { autoAccept: true });
    const p = peer("lab1");
    expect(await ks.decide(p)).toEqual({ accept: true });
    expect(await ks.decide(p)).toEqual({ accept: true, known: true });
    await settle();
    expect(await ks.decide(p)).toEqual({ accept: true, known: true });
    await ks.reject("lab1");
    expect(code(await ks.decide(p))).toBe("E_KEY_REJECTED");
  });

  test("an invalid key file fails each decision, as an uncached read does; once fixed it counts", async () => {
    const root = keyroot();
    const ks = cached(root);
    const p = peer("x1");
    mkdirSync(join(root, "agents/accepted"), { recursive: true });
    writeFileSync(join(root, "agents/accepted/x1.pub"), "not a key");
    await settle();
    for (let i = 0; i < 2; i++)
      await expect(ks.decide(p)).rejects.toThrow(
        "agents/accepted/x1.pub is not a base64 32-byte key",
      );
    writeFileSync(join(root, "agents/accepted/x1.pub"), encodeKey(p.publicKey) + "\n");
    expect(code(await ks.decide(p))).toBe("accepted");
  });

  test("clients and agents are apart", async () => {
    const root = keyroot();
    const ks = cached(root);
    const p = peer("ops", "client");
    mkdirSync(join(root, "clients/accepted"), { recursive: true });
    writeFileSync(join(root, "clients/accepted/ops.pub"), encodeKey(p.publicKey) + "\n");
    expect(await warm(ks, p)).toBe("accepted");
    expect(code(await ks.decide({ ...p, kind: "agent" }))).toBe("E_KEY_PENDING");
  });
});
