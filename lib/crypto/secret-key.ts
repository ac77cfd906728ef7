// The password of NACL[...] strings and .enc files and the key derived from
// it, as the original salty does. Reads $PASSWORD or KEYROOT/crypto.pass; the
// interactive prompt lives in cmd/. Never logs or returns the password in a
// message.

import { pbkdf2Sync } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import type { SecretKey } from "./_secretbox.ts";

export type { SecretKey } from "./_secretbox.ts";

// The fixed salt of the original Python salty (lib/crypto.py, `_SALT`, the
// sha256 of a uuid). It must stay byte for byte the same, as 64 ASCII bytes,
// or existing NACL[...] strings and .enc files no longer decrypt.
const SALT = new TextEncoder().encode("7cbbb992db5d800238a898459dc4e25e67773b5923d2a836cef718891e5c7f1f");
const ITERATIONS = 4;
const KEY_BYTES = 32;

export const PASSWORD_FILE = "crypto.pass";
/** crypto.pass shorter than this earns a warning (salty init makes 64). */
export const MIN_PASSWORD_CHARS = 32;

const cache = new Map<string, SecretKey>();
const CACHE_SIZE = 8;

/** PBKDF2-HMAC-SHA256(password, salt, 4 iterations, 32 bytes), once per password. */
export function deriveKey(password: string): SecretKey {
  const hit = cache.get(password);
  if (hit) return hit;
  const key = new Uint8Array(pbkdf2Sync(password, SALT, ITERATIONS, KEY_BYTES, "sha256"));
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(password, key);
  return key;
}

/**
 * `env.PASSWORD` if set and not empty (used verbatim, as the original does),
 * else KEYROOT/crypto.pass trimmed, else null: the caller may then prompt.
 */
export async function readPassword(keyroot: string, env: Record<string, string | undefined> = process.env): Promise<string | null> {
  if (env.PASSWORD) return env.PASSWORD;
  const file = join(keyroot, PASSWORD_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw new SaltyError(`cannot read ${file}: ${errorMessage(err)}`, "E_PASSWORD");
  }
  const password = text.trim();
  if (!password) throw new SaltyError(`${file} is empty`, "E_PASSWORD");
  return password;
}

/** What is unwise about KEYROOT/crypto.pass: too short, or open to group/others. [] if absent. */
export async function passwordFileWarnings(keyroot: string): Promise<string[]> {
  const file = join(keyroot, PASSWORD_FILE);
  try {
    const st = await stat(file);
    const warnings: string[] = [];
    if (st.mode & 0o077) warnings.push(`${file} is accessible by group or others (mode 0${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    const text = await readFile(file, "utf8");
    if (text.trim().length < MIN_PASSWORD_CHARS) warnings.push(`${file} holds a password shorter than ${MIN_PASSWORD_CHARS} characters`);
    return warnings;
  } catch {
    return [];
  }
}
