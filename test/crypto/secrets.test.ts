import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SaltyError } from "../../lib/errors.ts";
import {
  containsSecret,
  decryptBytes,
  decryptStream,
  decryptString,
  decryptTree,
  deriveKey,
  encryptBytes,
  encryptStream,
  encryptString,
  isSecret,
  passwordFileWarnings,
  readPassword,
  findPassword,
} from "../../lib/crypto/secrets.ts";
import { pattern, sha256 } from "./_vectors.ts";
import { tempDirForFile } from "../_temp.ts";

const MiB = 1024 * 1024;
const key = deriveKey("test password");
const otherKey = deriveKey("another password");

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c.slice());
  return new Uint8Array(Buffer.concat(parts));
}

/** Feed `data` in pieces of `size` bytes. */
function pieces(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

describe("keys", () => {
  test("one derivation per password, distinct keys for distinct passwords", () => {
    expect(deriveKey("test password")).toBe(key);
    expect(key).toHaveLength(32);
    expect(Buffer.from(otherKey).equals(Buffer.from(key))).toBe(false);
  });
});

describe("strings", () => {
  test.each(["", "x", "päss wörd ✓", "line1\nline2", "]NACL[", "y".repeat(10_000)])(
    "round trip of %p",
    (s) => {
      expect(decryptString(encryptString(s, key), key)).toBe(s);
    },
  );

  const good = encryptString("hello", key);
  const flipped = good.slice(0, 20) + (good[20] === "A" ? "B" : "A") + good.slice(21);
  test.each([
    ["the wrong password", good, otherKey, /^wrong password or corrupted data$/],
    ["a flipped character", flipped, key, /^wrong password or corrupted data$/],
    ["a missing ]", good.slice(0, -1), key, /NACL\[ without a closing \]/],
    ["characters outside base64", "NACL[abc!def]", key, /not base64/],
    ["too few bytes for a nonce", "NACL[AAAA]", key, /3 bytes, less than the 40/],
  ])("refuses %s", (_name, secret, k, message) => {
    expect(() => decryptString(secret, k)).toThrow(message);
    expect(() => decryptString(secret, k)).toThrow(SaltyError);
  });

  test("refuses plaintext that is not UTF-8, without showing it", () => {
    const bad = Buffer.from(encryptBytes(new Uint8Array([0xff, 0xfe]), key)).toString("base64url");
    expect(() => decryptString(bad, key)).toThrow(/^decrypted secret is not UTF-8 text$/);
  });
});

describe("secrets in a tree", () => {
  const secret = encryptString("s3cret", key);

  test.each([
    [secret, true],
    ["NACL[", true],
    ["nacl[abc]", false],
    [" NACL[abc]", false],
    [42, false],
    [null, false],
  ])("isSecret(%p) is %p", (value, expected) => {
    expect(isSecret(value)).toBe(expected);
  });

  test.each([
    ["a nested object", { a: 1, b: ["x", { c: secret }] }, true],
    ["nested arrays", [1, [2, [secret]]], true],
    ["no secret", { a: "NACL", b: [1, "x"] }, false],
    [
      "a Map (only plain objects and arrays are looked into)",
      { a: new Map([["k", secret]]) },
      false,
    ],
  ])("containsSecret of %s is %p", (_name, value, expected) => {
    expect(containsSecret(value)).toBe(expected);
  });

  test("decryptTree returns a decrypted copy and leaves the input alone", () => {
    const date = new Date(0);
    const input = {
      envs: { prod: { db: secret, list: [secret, "plain", 3], when: date } },
      n: null,
      t: true,
    };
    const out = decryptTree(input, key);
    expect(out).toEqual({
      envs: { prod: { db: "s3cret", list: ["s3cret", "plain", 3], when: date } },
      n: null,
      t: true,
    });
    expect(out.envs.prod.when).toBe(date);
    expect(input.envs.prod.db).toBe(secret);
    expect(containsSecret(out)).toBe(false);
  });

  test("a __proto__ key stays a plain key", () => {
    const input = JSON.parse(`{"__proto__": {"polluted": "${secret}"}}`) as Record<string, unknown>;
    const out = decryptTree(input, key) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, "__proto__")?.value).toEqual({
      polluted: "s3cret",
    });
  });

  test("errors name the path of the bad value", () => {
    expect(() => decryptTree({ envs: { prod: { list: ["ok", "NACL[AAAA]"] } } }, key)).toThrow(
      /^envs\.prod\.list\[1\]: malformed secret/,
    );
    expect(() => decryptTree({ a: secret }, otherKey)).toThrow(
      /^a: wrong password or corrupted data$/,
    );
  });

  test("a tree that contains itself is refused; shared branches are fine", () => {
    const shared = { s: secret };
    expect(decryptTree({ a: shared, b: shared }, key)).toEqual({
      a: { s: "s3cret" },
      b: { s: "s3cret" },
    });
    const loop: Record<string, unknown> = { x: 1 };
    loop.self = loop;
    expect(() => decryptTree(loop, key)).toThrow(/self contains itself/);
    expect(containsSecret(loop)).toBe(false);
  });
});

describe("files (buffers and streams)", () => {
  test.each([
    [0, 1000],
    [1, 1],
    [MiB - 1, 65_536],
    [MiB, 3 * MiB],
    [MiB + 1, 7_777],
    [2 * MiB + 40, MiB + 40],
  ])("%d bytes in pieces of %d round-trip through streams and buffers", async (len, piece) => {
    const plain = pattern(len);
    const sealed = await collect(encryptStream(pieces(plain, piece), key));
    expect(sealed.length).toBe(len + 40 * Math.ceil(len / MiB));
    expect(sha256(await collect(decryptStream(pieces(sealed, piece), key)))).toBe(sha256(plain));
    expect(sha256(decryptBytes(sealed, key))).toBe(sha256(plain));
  });

  const sealed = encryptBytes(pattern(2 * MiB + 100), key); // blocks of 1 MiB, 1 MiB, 100 bytes
  const flip = (at: number) => {
    const copy = sealed.slice();
    copy[at]! ^= 1;
    return copy;
  };
  const block2 = MiB + 40;
  test.each([
    ["the wrong password", sealed, otherKey, /^wrong password or corrupted data in block 1$/],
    [
      "a flipped byte in block 2",
      flip(block2 + 5000),
      key,
      /^wrong password or corrupted data in block 2$/,
    ],
    [
      "a flipped nonce byte in block 3",
      flip(2 * block2 + 3),
      key,
      /^truncated or corrupted data in block 3, the last one \(140 bytes/,
    ],
    [
      "a last block cut short",
      sealed.subarray(0, sealed.length - 10),
      key,
      /^truncated or corrupted data in block 3, the last one \(130 bytes/,
    ],
    [
      "a last block shorter than a nonce",
      sealed.subarray(0, 2 * block2 + 30),
      key,
      /^truncated data: block 3 has 30 bytes, less than the 40/,
    ],
    [
      "a single block cut short",
      encryptBytes(pattern(100), key).subarray(0, 90),
      key,
      /^wrong password or corrupted data in block 1$/,
    ],
  ])("refuses %s, by buffer and by stream", async (_name, data, k, message) => {
    expect(() => decryptBytes(data, k)).toThrow(message);
    expect(collect(decryptStream(pieces(data, 100_000), k))).rejects.toThrow(message);
  });
});

describe("the password", () => {
  const dir = tempDirForFile("salty-crypto-");
  const keyroot = (name: string, content?: string, mode = 0o600) => {
    const root = path.join(dir, name);
    mkdirSync(root);
    if (content !== undefined) {
      writeFileSync(path.join(root, "crypto.pass"), content);
      chmodSync(path.join(root, "crypto.pass"), mode);
    }
    return root;
  };
  const strong = "0123456789abcdef0123456789abcdef0123";

  test("$SALTY_PASSWORD first, verbatim; then crypto.pass trimmed; then $PASSWORD, verbatim; else null", async () => {
    const root = keyroot("both", `  ${strong}\n`);
    expect(await readPassword(root, { SALTY_PASSWORD: " salty ", PASSWORD: " from env " })).toBe(
      " salty ",
    );
    expect(await readPassword(root, { PASSWORD: " from env " })).toBe(strong);
    expect(await findPassword(root, { PASSWORD: " from env " })).toEqual({
      password: strong,
      from: "crypto.pass",
      ignored: expect.stringContaining("$PASSWORD is set but not used"),
    });
    expect(await readPassword(root, { PASSWORD: "" })).toBe(strong);
    expect(await readPassword(root, {})).toBe(strong);
    expect(await readPassword(keyroot("none"), { PASSWORD: " from env " })).toBe(" from env ");
    expect(await readPassword(keyroot("none2"), {})).toBeNull();
    expect(await readPassword(path.join(dir, "missing"), {})).toBeNull();
  });

  test("an empty crypto.pass is an error, not an empty password", async () => {
    expect(readPassword(keyroot("empty", " \n"), {})).rejects.toThrow(/crypto\.pass is empty/);
  });

  test.each([
    ["strong", strong, 0o600, []],
    ["short", "tiny-pw", 0o600, [/shorter than 32 characters/]],
    ["open", strong, 0o644, [/accessible by group or others \(mode 0644\): chmod 600 it/]],
    ["both", "tiny-pw", 0o640, [/accessible by group or others/, /shorter than 32/]],
  ])("warnings for a %s crypto.pass", async (name, content, mode, expected) => {
    const warnings = await passwordFileWarnings(keyroot(`warn-${name}`, content, mode));
    expect(warnings).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(warnings[i]).toMatch(re));
    for (const w of warnings) expect(w).not.toContain(content);
  });

  test("no warnings without a crypto.pass", async () => {
    expect(await passwordFileWarnings(keyroot("nowarn"))).toEqual([]);
  });
});
