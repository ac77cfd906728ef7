import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  encodeKey,
  fingerprint,
  loadIdentity,
  loadOrCreateIdentity,
  parsePublicKey,
  pinMasterKey,
  readPinnedMasterKey,
  validateId,
} from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";

const logs: string[] = [];
setLogSink((l) => logs.push(l));

const temp = tempDirs("salty-keys-");

describe("identities", () => {
  test("created on first use: NAME.key 0600, NAME.pub, dir 0700; loaded unchanged afterwards", async () => {
    const dir = join(temp(), "etc", "salty");
    const first = await loadOrCreateIdentity(dir, "agent");
    expect(first.created).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "agent.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "agent.pub"), "utf8")).toBe(encodeKey(first.publicKey) + "\n");
    expect(readdirSync(dir).sort()).toEqual(["agent.key", "agent.pub"]);
    const again = await loadOrCreateIdentity(dir, "agent");
    expect(again.created).toBe(false);
    expect(again.secretKey).toEqual(first.secretKey);
    expect(await loadIdentity(dir, "agent")).toEqual({
      publicKey: first.publicKey,
      secretKey: first.secretKey,
    });
    expect(logs.filter((l) => l.includes("keys.created")).length).toBe(1);
    expect(logs.join("\n")).not.toContain(encodeKey(first.secretKey));
  });

  test("concurrent first starts end with one key", async () => {
    const dir = temp();
    const all = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateIdentity(dir, "master")),
    );
    expect(new Set(all.map((i) => encodeKey(i.publicKey))).size).toBe(1);
    expect(all.filter((i) => i.created).length).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(["master.key", "master.pub"]);
  });

  test("a missing or wrong .pub is rewritten from the secret key; a loose mode is tightened", async () => {
    const dir = temp();
    const id = await loadOrCreateIdentity(dir, "client");
    writeFileSync(join(dir, "client.pub"), "garbage\n");
    chmodSync(join(dir, "client.key"), 0o644);
    await loadOrCreateIdentity(dir, "client");
    expect(readFileSync(join(dir, "client.pub"), "utf8").trim()).toBe(encodeKey(id.publicKey));
    expect(statSync(join(dir, "client.key")).mode & 0o777).toBe(0o600);
    expect(logs.some((l) => l.includes("keys.insecure_mode") && l.includes("mode=0644"))).toBe(
      true,
    );
  });

  test("a corrupt secret key is an error and is not replaced", async () => {
    const dir = temp();
    writeFileSync(join(dir, "agent.key"), "bm90IGEga2V5", { mode: 0o600 });
    const err = await loadOrCreateIdentity(dir, "agent").catch((e) => e);
    expect(err.code).toBe("E_BAD_KEY");
    expect(err.message).toBe(`${join(dir, "agent.key")} is not a base64 64-byte key`);
    expect(readFileSync(join(dir, "agent.key"), "utf8")).toBe("bm90IGEga2V5");
  });

  test("loadIdentity does not create: E_NO_KEY", async () => {
    const dir = temp();
    const err = await loadIdentity(dir, "master").catch((e) => e);
    expect(err.code).toBe("E_NO_KEY");
    expect(err.message).toBe(`no master key in ${dir} (${join(dir, "master.key")} does not exist)`);
  });
});

describe("fingerprints, public keys and ids", () => {
  test("fingerprint is SHA256: + unpadded base64 of the key's sha256, as ssh prints it", () => {
    const key = new Uint8Array(32).fill(1);
    const expected =
      "SHA256:" + createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
    expect(fingerprint(key)).toBe(expected);
    expect(fingerprint(key)).not.toContain("=");
  });

  test("parsePublicKey takes base64 of 32 bytes and nothing else", () => {
    const key = nacl.sign.keyPair().publicKey;
    expect(parsePublicKey(` ${encodeKey(key)}\n`)).toEqual(key);
    for (const bad of [
      "",
      "abc",
      encodeKey(new Uint8Array(31)),
      encodeKey(new Uint8Array(64)),
      "!!!!",
    ]) {
      expect(() => parsePublicKey(bad, "--master-key")).toThrow(
        "--master-key is not a base64 32-byte key",
      );
    }
  });

  test.each(["web1", "web1.foo.dev", "a_b-c", "0", "x".repeat(255)])("id %s is valid", (id) => {
    expect(validateId(id)).toBe(id);
  });
  test.each(["", ".", "..", ".hidden", "-x", "a/b", "a b", "é", "x".repeat(256), "a\n"])(
    "id %j is refused",
    (id) => {
      expect(() => validateId(id)).toThrow(
        /invalid id .*: use 1 to 255 of A-Z a-z 0-9 \. _ -, starting with a letter or digit/,
      );
    },
  );
});

describe("master key pinning", () => {
  test("pinned on first contact, the same key again is fine, another key is E_MASTER_KEY_CHANGED", async () => {
    const root = join(temp(), "agent-keys");
    const k1 = nacl.sign.keyPair().publicKey;
    const k2 = nacl.sign.keyPair().publicKey;
    expect(await readPinnedMasterKey(root)).toBeUndefined();
    expect(await pinMasterKey(root, k1)).toBe("pinned");
    expect(await pinMasterKey(root, k1)).toBe("same");
    expect(await readPinnedMasterKey(root)).toEqual(k1);
    const err = await pinMasterKey(root, k2).catch((e) => e);
    expect(err.code).toBe("E_MASTER_KEY_CHANGED");
    expect(err.message).toContain(
      `expected ${fingerprint(k1)} (pinned in ${join(root, "master.pub")}), the master presents ${fingerprint(k2)}`,
    );
    expect(await readPinnedMasterKey(root)).toEqual(k1);
  });

  test("an explicit key (--master-key) may replace the pin", async () => {
    const root = temp();
    const k1 = nacl.sign.keyPair().publicKey;
    const k2 = nacl.sign.keyPair().publicKey;
    await pinMasterKey(root, k1);
    expect(await pinMasterKey(root, k2, { replace: true })).toBe("replaced");
    expect(await readPinnedMasterKey(root)).toEqual(k2);
  });
});
