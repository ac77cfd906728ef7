// Ed25519 and X25519 through node:crypto (BoringSSL in Bun): the handshake's
// signatures and key agreement, ~100x cheaper than tweetnacl's JavaScript.
// Keys stay raw 32-byte arrays everywhere else (files, pins, the wire); they
// become KeyObjects here, through their fixed DER prefixes. The long-term
// identity's private KeyObject is cached (a WeakMap on its secret key), and so
// are the last few public keys verified (an agent checks one master's key).
// Pure: no I/O.

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";

// SubjectPublicKeyInfo and PKCS#8 headers for a raw 32-byte key (RFC 8410).
const ED_SPKI = Buffer.from("302a300506032b6570032100", "hex");
const ED_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const X_SPKI = Buffer.from("302a300506032b656e032100", "hex");

function der(prefix: Buffer, key: Uint8Array): Buffer {
  if (key.length !== 32) throw new Error(`a raw key is 32 bytes, not ${key.length}`);
  return Buffer.concat([prefix, key]);
}

/** The last 32 bytes of a public key's SPKI encoding: its raw form. */
function rawPublic(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: "der", type: "spki" }).subarray(-32));
}

const privateKeys = new WeakMap<Uint8Array, KeyObject>();

/** tweetnacl's 64-byte secret key (seed || public key) as a private KeyObject, cached per array. */
function edPrivate(secretKey: Uint8Array): KeyObject {
  let k = privateKeys.get(secretKey);
  if (!k) {
    if (secretKey.length !== 64)
      throw new Error(`an Ed25519 secret key is 64 bytes, not ${secretKey.length}`);
    k = createPrivateKey({
      key: der(ED_PKCS8, secretKey.subarray(0, 32)),
      format: "der",
      type: "pkcs8",
    });
    privateKeys.set(secretKey, k);
  }
  return k;
}

const publicKeys = new Map<string, KeyObject>();

function edPublic(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString("base64");
  let k = publicKeys.get(id);
  if (!k) {
    k = createPublicKey({ key: der(ED_SPKI, publicKey), format: "der", type: "spki" });
    if (publicKeys.size >= 16) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, k);
  }
  return k;
}

/** A new Ed25519 pair in tweetnacl's layout: secretKey = seed || publicKey. */
export function signKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
  return signKeyPairFromSeed(new Uint8Array(seed));
}

/** The pair of a 32-byte seed, as tweetnacl's sign.keyPair.fromSeed makes it. */
export function signKeyPairFromSeed(seed: Uint8Array): {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
} {
  const priv = createPrivateKey({ key: der(ED_PKCS8, seed), format: "der", type: "pkcs8" });
  const publicKey = rawPublic(createPublicKey(priv));
  const secretKey = new Uint8Array(64);
  secretKey.set(seed);
  secretKey.set(publicKey, 32);
  privateKeys.set(secretKey, priv);
  return { publicKey, secretKey };
}

/** A detached Ed25519 signature (64 bytes) with a tweetnacl-layout secret key. */
export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, edPrivate(secretKey)));
}

/** False for a bad signature and for a public key that is not a point (never throws). */
export function verifyDetached(
  message: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return verify(null, message, edPublic(publicKey), signature);
  } catch {
    return false;
  }
}

/** An ephemeral X25519 pair: the private KeyObject stays opaque. */
export interface Ephemeral {
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

export function ephemeral(): Ephemeral {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  return { publicKey: rawPublic(publicKey), privateKey };
}

/** X25519; undefined when the peer's point is of low order (the shared secret would be all zeros). */
export function agree(own: Ephemeral, peerPublic: Uint8Array): Uint8Array | undefined {
  let dh: Buffer;
  try {
    dh = diffieHellman({
      privateKey: own.privateKey,
      publicKey: createPublicKey({ key: der(X_SPKI, peerPublic), format: "der", type: "spki" }),
    });
  } catch {
    return undefined; // BoringSSL refuses an all-zero result itself
  }
  return dh.every((b) => b === 0) ? undefined : new Uint8Array(dh);
}
