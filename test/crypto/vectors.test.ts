// Compatibility with the original Python salty: every vector it made decrypts,
// and what salty makes decrypts with the independent reference implementation.

import { describe, expect, test } from "bun:test";
import path from "node:path";
import {
  decryptBytes,
  decryptStream,
  decryptString,
  deriveKey,
  encryptBytes,
  encryptString,
} from "../../lib/crypto/secrets.ts";
import {
  VECTORS_DIR,
  loadVectors,
  type Vectors,
  pattern,
  referenceDecryptFile,
  referenceDecryptString,
  referenceKey,
  sha256,
} from "./_vectors.ts";

const v = await loadVectors();
const key = deriveKey(v.password);

async function vectorBytes(f: Vectors["files"][number]): Promise<Uint8Array> {
  if (f.encrypted_file) return Bun.file(path.join(VECTORS_DIR, f.encrypted_file)).bytes();
  return new Uint8Array(Buffer.from(f.encrypted_b64 ?? "", "base64"));
}

describe("vectors of the original salty", () => {
  test("the key derivation gives key_hex, as does the reference", () => {
    expect(v.kdf).toEqual({
      algorithm: "pbkdf2-hmac-sha256",
      iterations: 4,
      salt_ascii: expect.any(String),
      length: 32,
    });
    expect(Buffer.from(key).toString("hex")).toBe(v.key_hex);
    expect(Buffer.from(referenceKey(v, v.password)).toString("hex")).toBe(v.key_hex);
  });

  test.each(v.strings.map((s) => [s.plaintext.slice(0, 24), s] as const))(
    "string %p decrypts, with or without NACL[ ]",
    (_name, s) => {
      expect(decryptString(`NACL[${s.encrypted}]`, key)).toBe(s.plaintext);
      expect(decryptString(s.encrypted, key)).toBe(s.plaintext);
      expect(decryptString(`  NACL[${s.encrypted}]\n`, key)).toBe(s.plaintext);
    },
  );

  test.each(v.files.map((f) => [f.plaintext_len, f] as const))(
    "file of %d bytes decrypts by buffer and by stream",
    async (_len, f) => {
      const sealed = await vectorBytes(f);
      expect(sealed.length).toBe(f.encrypted_len);
      const plain = decryptBytes(sealed, key);
      expect(plain.length).toBe(f.plaintext_len);
      expect(sha256(plain)).toBe(f.plaintext_sha256);
      expect(sha256(pattern(f.plaintext_len))).toBe(f.plaintext_sha256);
      // Stream it in odd chunk sizes, so blocks straddle chunk boundaries.
      const chunks = [...Array(Math.ceil(sealed.length / 77_777)).keys()].map((i) =>
        sealed.subarray(i * 77_777, (i + 1) * 77_777),
      );
      const hasher = new Bun.CryptoHasher("sha256");
      for await (const part of decryptStream(chunks, key)) hasher.update(part);
      expect(hasher.digest("hex")).toBe(f.plaintext_sha256);
    },
  );

  test("the two binary .enc files are among the vectors", () => {
    expect(v.files.filter((f) => f.encrypted_file).map((f) => f.encrypted_file)).toEqual([
      "file-1048576.bin.enc",
      "file-1048593.bin.enc",
    ]);
  });
});

describe("what salty writes, read by the reference implementation", () => {
  const ref = referenceKey(v, v.password);

  test.each(v.strings.map((s) => [s.plaintext.slice(0, 24), s.plaintext] as const))(
    "string %p",
    (_name, plaintext) => {
      const secret = encryptString(plaintext, key);
      expect(secret).toMatch(/^NACL\[[A-Za-z0-9_-]*={0,2}\]$/);
      expect((secret.length - "NACL[]".length) % 4).toBe(0); // padded, as Python's urlsafe_b64decode needs
      expect(referenceDecryptString(secret, ref)).toBe(plaintext);
      expect(encryptString(plaintext, key)).not.toBe(secret); // a fresh nonce each time
    },
  );

  test.each([0, 1, 5, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 17])(
    "file of %d bytes",
    (len) => {
      const plain = pattern(len);
      const sealed = encryptBytes(plain, key);
      expect(sealed.length).toBe(len + 40 * Math.ceil(len / (1024 * 1024)));
      expect(sha256(referenceDecryptFile(sealed, ref))).toBe(sha256(plain));
    },
  );
});
