// The password of NACL[...] strings and .enc files and the key derived from
// it, as the original salty does. Reads $SALTY_PASSWORD, KEYROOT/crypto.pass
// or $PASSWORD (findPassword says in which order and why); the
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
const SALT = new TextEncoder().encode(
  "7cbbb992db5d800238a898459dc4e25e67773b5923d2a836cef718891e5c7f1f",
);
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

/** Where the password came from: the environment variable or the file. */
export interface FoundPassword {
  password: string;
  from: "$SALTY_PASSWORD" | "crypto.pass" | "$PASSWORD";
  /** Set when $PASSWORD was set but not used (crypto.pass wins over it): say so, never silently. */
  ignored?: string;
}

/**
 * `env.SALTY_PASSWORD`, else KEYROOT/crypto.pass trimmed, else `env.PASSWORD`
 * (used verbatim, as the original does), else null: the caller may then
 * prompt. $PASSWORD comes after the file because CI systems and shells set
 * it for other things: it must not silently replace the fileroot's password.
 */
export async function findPassword(
  keyroot: string,
  env: Record<string, string | undefined> = process.env,
): Promise<FoundPassword | null> {
  if (env.SALTY_PASSWORD) return { password: env.SALTY_PASSWORD, from: "$SALTY_PASSWORD" };
  const file = join(keyroot, PASSWORD_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR")
      throw new SaltyError(`cannot read ${file}: ${errorMessage(err)}`, "E_PASSWORD");
  }
  if (text !== undefined) {
    const password = text.trim();
    if (!password) throw new SaltyError(`${file} is empty`, "E_PASSWORD");
    const ignored =
      env.PASSWORD && env.PASSWORD !== password
        ? `$PASSWORD is set but not used: ${file} is (set $SALTY_PASSWORD to override the file)`
        : undefined;
    return { password, from: "crypto.pass", ...(ignored ? { ignored } : {}) };
  }
  return env.PASSWORD ? { password: env.PASSWORD, from: "$PASSWORD" } : null;
}

/** The password alone (see findPassword), or null. */
export async function readPassword(
  keyroot: string,
  env: Record<string, string | undefined> = process.env,
): Promise<string | null> {
  return (await findPassword(keyroot, env))?.password ?? null;
}

/** What is unwise about KEYROOT/crypto.pass: too short, or open to group/others. [] if absent. */
export async function passwordFileWarnings(keyroot: string): Promise<string[]> {
  const file = join(keyroot, PASSWORD_FILE);
  try {
    const st = await stat(file);
    const warnings: string[] = [];
    if (st.mode & 0o077)
      warnings.push(
        `${file} is accessible by group or others (mode 0${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    const text = await readFile(file, "utf8");
    if (text.trim().length < MIN_PASSWORD_CHARS)
      warnings.push(`${file} holds a password shorter than ${MIN_PASSWORD_CHARS} characters`);
    return warnings;
  } catch {
    return [];
  }
}
