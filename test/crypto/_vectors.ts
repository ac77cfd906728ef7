// Shared by the crypto tests: the vectors made with the original Python
// salty, the plaintext pattern of their files, and an implementation of the
// format written independently of lib/crypto (node:crypto PBKDF2 +
// tweetnacl), so that what salty writes is checked against the format itself.

import { pbkdf2Sync } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import nacl from "tweetnacl";

/** The vectors are part of the repository (test/fixtures/crypto/); $SALTY_TESTDATA may point at another testdata/ holding crypto/. */
export const VECTORS_DIR = process.env.SALTY_TESTDATA
  ? path.join(process.env.SALTY_TESTDATA, "crypto")
  : path.resolve(import.meta.dir, "../fixtures/crypto");

export interface Vectors {
  kdf: { algorithm: string; iterations: number; salt_ascii: string; length: number };
  password: string;
  key_hex: string;
  strings: { plaintext: string; encrypted: string }[];
  files: {
    plaintext_len: number;
    plaintext_sha256: string;
    encrypted_len: number;
    encrypted_b64?: string;
    encrypted_file?: string;
  }[];
}

/**
 * The vectors file. Its "note" line holds unescaped quotes (`the "encrypted"
 * values`), which makes it invalid JSON; that line carries no data, so drop it
 * when the file does not parse as it is.
 */
export async function loadVectors(): Promise<Vectors> {
  const file = path.join(VECTORS_DIR, "crypto-vectors.json");
  if (!existsSync(file)) {
    throw new Error(
      `the crypto test vectors are not at ${file}: they belong in test/fixtures/crypto/ (or unset SALTY_TESTDATA)`,
    );
  }
  const text = await Bun.file(file).text();
  try {
    return JSON.parse(text) as Vectors;
  } catch {
    return JSON.parse(text.replace(/^\s*"note":.*\n/m, "")) as Vectors;
  }
}

/** The plaintext of the vector files: bytes[i] = (i * 13 + 7) % 251. */
export function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 13 + 7) % 251;
  return out;
}

export function sha256(data: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** The independent implementation: key, strings and files, from the vectors' KDF parameters. */
export function referenceKey(v: Vectors, password: string): Uint8Array {
  const salt = Buffer.from(v.kdf.salt_ascii, "ascii");
  return new Uint8Array(
    pbkdf2Sync(Buffer.from(password, "utf8"), salt, v.kdf.iterations, v.kdf.length, "sha256"),
  );
}

function openSealed(sealed: Uint8Array, key: Uint8Array): Uint8Array {
  const plain = nacl.secretbox.open(sealed.subarray(24), sealed.subarray(0, 24), key);
  if (!plain) throw new Error("reference: box does not open");
  return plain;
}

export function referenceDecryptString(secret: string, key: Uint8Array): string {
  const m = /^NACL\[([A-Za-z0-9_-]*={0,2})\]$/.exec(secret);
  if (!m || m[1]!.length % 4 !== 0)
    throw new Error(`reference: not a padded urlsafe NACL[...] string: ${secret}`);
  return new TextDecoder("utf-8", { fatal: true }).decode(
    openSealed(Buffer.from(m[1]!, "base64url"), key),
  );
}

export function referenceDecryptFile(data: Uint8Array, key: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const step = 1024 * 1024 + 40;
  for (let off = 0; off < data.length; off += step)
    parts.push(openSealed(data.subarray(off, off + step), key));
  return new Uint8Array(Buffer.concat(parts));
}
