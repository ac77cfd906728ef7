// One sealed block of the original salty format: 24-byte random nonce, then
// the NaCl secretbox (16-byte authenticator + ciphertext). Private to crypto/:
// strings and files are built on it. Pure: no I/O, never logs.

import nacl from "tweetnacl";
import { SaltyError } from "../errors.ts";

/** A 32-byte secretbox key, from `deriveKey`. Treat it as read-only. */
export type SecretKey = Uint8Array;

export const NONCE_BYTES = nacl.secretbox.nonceLength;
/** Bytes a sealed block adds to its plaintext: nonce + authenticator (40). */
export const OVERHEAD = NONCE_BYTES + nacl.secretbox.overheadLength;
/** Files are cut into 1 MiB plaintext blocks, each sealed on its own. */
export const PLAIN_BLOCK = 1024 * 1024;
export const SEALED_BLOCK = PLAIN_BLOCK + OVERHEAD;

/** nonce || secretbox(plain) with a fresh random nonce. */
export function seal(plain: Uint8Array, key: SecretKey): Uint8Array {
  const nonce = nacl.randomBytes(NONCE_BYTES);
  const box = nacl.secretbox(plain, nonce, key);
  const out = new Uint8Array(NONCE_BYTES + box.length);
  out.set(nonce);
  out.set(box, NONCE_BYTES);
  return out;
}

/** The plaintext of nonce || box, or null when it does not authenticate. */
export function open(sealed: Uint8Array, key: SecretKey): Uint8Array | null {
  if (sealed.length < OVERHEAD) return null;
  return nacl.secretbox.open(sealed.subarray(NONCE_BYTES), sealed.subarray(0, NONCE_BYTES), key);
}

/**
 * Open block `n` (counted from 1) of a sealed file. Only the last block may
 * be shorter than SEALED_BLOCK, so a short block that fails after good ones
 * is a truncated (or damaged) end of file, not a wrong password.
 */
export function openBlock(sealed: Uint8Array, key: SecretKey, n: number): Uint8Array {
  if (sealed.length < OVERHEAD) {
    throw new SaltyError(
      `truncated data: block ${n} has ${sealed.length} bytes, less than the ${OVERHEAD} of a nonce and authenticator`,
      "E_TRUNCATED",
    );
  }
  const plain = open(sealed, key);
  if (plain) return plain;
  if (n > 1 && sealed.length < SEALED_BLOCK) {
    throw new SaltyError(
      `truncated or corrupted data in block ${n}, the last one (${sealed.length} bytes; the blocks before it decrypted)`,
      "E_TRUNCATED",
    );
  }
  throw new SaltyError(`wrong password or corrupted data in block ${n}`, "E_DECRYPT");
}
