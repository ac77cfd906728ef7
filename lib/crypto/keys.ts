// Long-term identities: Ed25519 key pairs (made through node:crypto, in
// tweetnacl's layout, so keyroots of every version read the same) kept as base64 text
// files (NAME.key secret, mode 0600; NAME.pub public), their fingerprints, ids,
// and the agent's pin of the master's key. Never puts a secret key in a
// message or a log line; never replaces an existing secret key file.

import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { writeNew, writeReplace } from "./_files.ts";
import { signKeyPair, signKeyPairFromSeed } from "./native.ts";

/** An Ed25519 key pair in tweetnacl's layout (secretKey = seed || publicKey). */
export interface Identity {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** `SHA256:` + unpadded base64 of the key's SHA-256, as ssh shows keys. */
export function fingerprint(publicKey: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(publicKey).digest("base64").replace(/=+$/, "");
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

function decodeBase64(text: string, length: number, what: string): Uint8Array {
  const t = text.trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(t)
    ? new Uint8Array(Buffer.from(t, "base64"))
    : new Uint8Array(0);
  if (bytes.length !== length)
    throw new SaltyError(`${what} is not a base64 ${length}-byte key`, "E_BAD_KEY");
  return bytes;
}

/** A 32-byte Ed25519 public key from base64 (files, --master-key). */
export function parsePublicKey(text: string, what = "public key"): Uint8Array {
  return decodeBase64(text, 32, what);
}

export function samePublicKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Agent and client ids: 1..255 bytes of [A-Za-z0-9._-], starting with a letter or digit (they name files). */
export function validateId(id: string): string {
  if (!ID_RE.test(id) || id.length > 255) {
    throw new SaltyError(
      `invalid id ${JSON.stringify(id.slice(0, 300))}: use 1 to 255 of A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      "E_BAD_ID",
    );
  }
  return id;
}

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

async function readIfExists(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch((err) => {
    if (missing(err)) return undefined;
    throw new SaltyError(`cannot read ${path}: ${(err as Error).message}`, "E_KEY_FILE");
  });
}

async function readSecret(path: string, text: string): Promise<Identity> {
  const raw = decodeBase64(text, 64, path);
  const pair = signKeyPairFromSeed(raw.subarray(0, 32));
  if (!samePublicKey(pair.publicKey, raw.subarray(32)))
    throw new SaltyError(`${path} is not a valid Ed25519 secret key`, "E_BAD_KEY");
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    log("keys.insecure_mode", { path, mode: `0${mode.toString(8)}`, fixed: "0600" });
    await chmod(path, 0o600);
  }
  return pair;
}

/** Load DIR/NAME.key; E_NO_KEY when it does not exist. */
export async function loadIdentity(dir: string, name: string): Promise<Identity> {
  const path = join(dir, `${name}.key`);
  const text = await readIfExists(path);
  if (text === undefined)
    throw new SaltyError(`no ${name} key in ${dir} (${path} does not exist)`, "E_NO_KEY");
  return readSecret(path, text);
}

/**
 * Load DIR/NAME.key, creating the pair (NAME.key 0600, NAME.pub) on first use.
 * DIR is created 0700. Concurrent first starts end with one and the same key.
 */
export async function loadOrCreateIdentity(
  dir: string,
  name: string,
): Promise<Identity & { created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, `${name}.key`);
  const pubPath = join(dir, `${name}.pub`);
  let created = false;
  if ((await readIfExists(keyPath)) === undefined) {
    const pair = signKeyPair();
    created = await writeNew(keyPath, encodeKey(pair.secretKey) + "\n", 0o600);
  }
  const id = await readSecret(keyPath, (await readIfExists(keyPath)) ?? "");
  const pub = await readIfExists(pubPath);
  if (pub === undefined || pub.trim() !== encodeKey(id.publicKey)) {
    if (pub !== undefined)
      log("keys.public_rewritten", { path: pubPath, reason: `did not match ${name}.key` });
    await writeReplace(pubPath, encodeKey(id.publicKey) + "\n", 0o644);
  }
  if (created) log("keys.created", { path: keyPath, fingerprint: fingerprint(id.publicKey) });
  return { ...id, created };
}

/** The master key this host pinned (KEYROOT/master.pub), if any. */
export async function readPinnedMasterKey(keyroot: string): Promise<Uint8Array | undefined> {
  const path = join(keyroot, "master.pub");
  const text = await readIfExists(path);
  return text === undefined ? undefined : parsePublicKey(text, path);
}

/** The error for a master presenting another key than the pinned one (`pinFile`: where the pin lives). */
export function masterKeyChanged(
  pinned: Uint8Array,
  presented: Uint8Array,
  pinFile?: string,
): SaltyError {
  const fix = pinFile ? `delete ${pinFile}` : "change the pinned key";
  return new SaltyError(
    `the master's key changed: expected ${fingerprint(pinned)}${pinFile ? ` (pinned in ${pinFile})` : ""}, the master presents ${fingerprint(presented)}; ` +
      `if the master was re-keyed on purpose, ${fix} (or pass --master-key) and start again; otherwise someone may be impersonating the master`,
    "E_MASTER_KEY_CHANGED",
  );
}

/**
 * Pin the master's key in KEYROOT/master.pub: written on first contact, compared
 * afterwards (E_MASTER_KEY_CHANGED). `replace` (an explicit --master-key) overwrites the pin.
 */
export async function pinMasterKey(
  keyroot: string,
  key: Uint8Array,
  opts: { replace?: boolean } = {},
): Promise<"pinned" | "same" | "replaced"> {
  await mkdir(keyroot, { recursive: true, mode: 0o700 });
  const path = join(keyroot, "master.pub");
  const pinned = await readPinnedMasterKey(keyroot);
  if (pinned && samePublicKey(pinned, key)) return "same";
  if (pinned && !opts.replace) throw masterKeyChanged(pinned, key, path);
  const data = encodeKey(key) + "\n";
  if (pinned) await writeReplace(path, data, 0o644);
  else if (!(await writeNew(path, data, 0o644))) return pinMasterKey(keyroot, key, opts);
  log(pinned ? "keys.master_pin_replaced" : "keys.master_pinned", {
    path,
    fingerprint: fingerprint(key),
  });
  return pinned ? "replaced" : "pinned";
}

/**
 * Trust on first use: pin the key a master proved it holds at this host's first handshake with it,
 * accepted or still pending (a master met while pending must not be replaceable later), and log its
 * fingerprint for the operator to compare with `salty keys fingerprint` on the master.
 */
export async function pinFirstContact(
  keyroot: string,
  key: Uint8Array,
  master: string,
): Promise<void> {
  if ((await pinMasterKey(keyroot, key)) !== "pinned") return;
  log("keys.first_contact", {
    master,
    fingerprint: fingerprint(key),
    pinned: join(keyroot, "master.pub"),
    check: `compare ${fingerprint(key)} with what "salty keys fingerprint" prints on the master`,
  });
}
