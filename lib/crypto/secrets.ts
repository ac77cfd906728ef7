// Secrets in the original salty format, the one entry point for the rest of
// salty: NACL[...] strings (urlsafe base64 of nonce24 || secretbox), secret
// values inside the inventory, and (re-exported) keys and .enc files.
// No I/O in this file (secret-files.ts writes files); never logs; error
// messages never carry a plaintext.

import { SaltyError } from "../errors.ts";
import { OVERHEAD, open, seal, type SecretKey } from "./_secretbox.ts";

export {
  deriveKey,
  readPassword,
  findPassword,
  passwordFileWarnings,
  PASSWORD_FILE,
  type SecretKey,
} from "./secret-key.ts";
export {
  encryptStream,
  decryptStream,
  encryptBytes,
  decryptBytes,
  type Chunks,
} from "./secret-stream.ts";
export { encryptFile, decryptFile, checkPaths, type WriteOptions } from "./secret-files.ts";

const PREFIX = "NACL[";
const SUFFIX = "]";
// Both base64 alphabets are accepted; padding is optional on input.
const BASE64 = /^[A-Za-z0-9_\-+/]*={0,2}$/;

/** `NACL[...]` of a UTF-8 string, padded urlsafe base64 as the original writes it. */
export function encryptString(plaintext: string, key: SecretKey): string {
  const b64 = Buffer.from(seal(new TextEncoder().encode(plaintext), key)).toString("base64");
  return PREFIX + b64.replace(/\+/g, "-").replace(/\//g, "_") + SUFFIX;
}

/** The plaintext of `NACL[...]`, or of the base64 between the brackets alone. */
export function decryptString(secret: string, key: SecretKey): string {
  let b64 = secret.trim();
  if (b64.startsWith(PREFIX)) {
    if (!b64.endsWith(SUFFIX))
      throw new SaltyError("malformed secret: NACL[ without a closing ]", "E_BAD_SECRET");
    b64 = b64.slice(PREFIX.length, -SUFFIX.length);
  }
  if (!BASE64.test(b64)) throw new SaltyError("malformed secret: not base64", "E_BAD_SECRET");
  const sealed = Buffer.from(b64, "base64");
  if (sealed.length < OVERHEAD)
    throw new SaltyError(
      `malformed secret: ${sealed.length} bytes, less than the ${OVERHEAD} of a nonce and authenticator`,
      "E_BAD_SECRET",
    );
  const plain = open(sealed, key);
  if (!plain) throw new SaltyError("wrong password or corrupted data", "E_DECRYPT");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new SaltyError("decrypted secret is not UTF-8 text", "E_BAD_SECRET");
  }
}

/** Whether a value is a secret string (anything starting with NACL[, so a malformed one is never shown). */
export function isSecret(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(PREFIX);
}

/** Whether a value is, or holds anywhere inside plain objects and arrays, a secret string. */
export function containsSecret(value: unknown): boolean {
  const seen = new Set<object>();
  const visit = (v: unknown): boolean => {
    if (isSecret(v)) return true;
    if (!isContainer(v) || seen.has(v)) return false;
    seen.add(v);
    return Object.values(v).some(visit);
  };
  return visit(value);
}

/**
 * A copy of `value` with every NACL[...] string decrypted, through plain
 * objects and arrays (other objects are kept as they are). Errors name the
 * path of the bad value, e.g. `envs.prod.db_password: wrong password...`.
 */
export function decryptTree<T>(value: T, key: SecretKey): T {
  return walk(value, key, "", new Set()) as T;
}

function walk(value: unknown, key: SecretKey, path: string, ancestors: Set<object>): unknown {
  if (isSecret(value)) {
    try {
      return decryptString(value, key);
    } catch (err) {
      if (err instanceof SaltyError)
        throw new SaltyError(`${path || "value"}: ${err.message}`, err.code);
      throw err;
    }
  }
  if (!isContainer(value)) return value;
  if (ancestors.has(value)) throw new SaltyError(`${path || "value"} contains itself`, "E_CYCLE");
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => walk(v, key, `${path}[${i}]`, ancestors));
    // fromEntries defines own properties: a "__proto__" key stays a plain key.
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        walk(v, key, path ? `${path}.${k}` : k, ancestors),
      ]),
    );
  } finally {
    ancestors.delete(value);
  }
}

function isContainer(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
