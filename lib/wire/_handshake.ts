// The handshake of the secure channel as pure functions: fixed binary message
// layouts, the transcript hash, signatures, key-confirmation MACs and the
// derivation of one session key per direction. Pure: no I/O, no msgpack; every
// parser checks exact lengths and throws ProtocolError. See docs/protocol.md.

import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ProtocolError } from "../errors.ts";
import { validateId, type Identity } from "../crypto/keys.ts";
import * as native from "../crypto/native.ts";

export type Ephemeral = native.Ephemeral;
export const ephemeral = native.ephemeral;

export const MAGIC = new Uint8Array([0x53, 0x4c, 0x54, 0x01]); // "SLT" + protocol version 1
const LABEL = "salty-secure-v1";
const KINDS = ["agent", "client"] as const;
export type Kind = (typeof KINDS)[number];

const enc = new TextEncoder();

function sha512(...parts: Array<Uint8Array | string>): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(typeof p === "string" ? enc.encode(p) : p);
  return new Uint8Array(h.digest());
}

function hmac(key: Uint8Array, label: string, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(label).update(data).digest());
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function fail(message: string): never {
  throw new ProtocolError(`handshake: ${message}`, "E_HANDSHAKE");
}

/** X25519 with a check that the peer's point is not of low order (an all-zero secret). */
function agree(own: native.Ephemeral, peerPublic: Uint8Array): Uint8Array {
  return native.agree(own, peerPublic) ?? fail("the peer's ephemeral key is invalid");
}

/** State both sides build up, message by message. */
export interface Transcript {
  dh: Uint8Array;
  macKey: Uint8Array;
  hash: Uint8Array;
}

// ---- message 1: client -> server: MAGIC | client ephemeral (32) ----

export function writeHello(ephemeral: Uint8Array): Uint8Array {
  return concat(MAGIC, ephemeral);
}

export function readHello(m1: Uint8Array): Uint8Array {
  if (m1.length !== 36) fail(`hello of ${m1.length} bytes, expected 36`);
  if (!MAGIC.every((b, i) => m1[i] === b)) fail("not a salty peer or another protocol version");
  return m1.subarray(4);
}

// ---- message 2: server -> client: server ephemeral (32) | server key (32) | signature (64) | MAC (32) ----

export function writeServerProof(
  m1: Uint8Array,
  clientEph: Uint8Array,
  identity: Identity,
): { m2: Uint8Array; t: Transcript } {
  const eph = native.ephemeral();
  const dh = agree(eph, clientEph);
  const h1 = sha512(sha512(LABEL, " transcript", m1), eph.publicKey, identity.publicKey);
  const sig = native.signDetached(
    concat(enc.encode(`${LABEL} server signature`), h1),
    identity.secretKey,
  );
  const macKey = sha512(LABEL, " mac", dh, h1).subarray(0, 32);
  const h2 = sha512(h1, sig);
  const mac = hmac(macKey, "server finished", h2);
  return {
    m2: concat(eph.publicKey, identity.publicKey, sig, mac),
    t: { dh, macKey, hash: sha512(h2, mac) },
  };
}

/** Verify message 2; returns the master's long-term key it proved it holds. */
export function readServerProof(
  m1: Uint8Array,
  m2: Uint8Array,
  eph: native.Ephemeral,
): { masterKey: Uint8Array; t: Transcript } {
  if (m2.length !== 160) fail(`server proof of ${m2.length} bytes, expected 160`);
  const [serverEph, masterKey, sig, mac] = [
    m2.subarray(0, 32),
    m2.subarray(32, 64),
    m2.subarray(64, 128),
    m2.subarray(128),
  ];
  const h1 = sha512(sha512(LABEL, " transcript", m1), serverEph, masterKey);
  if (!native.verifyDetached(concat(enc.encode(`${LABEL} server signature`), h1), sig, masterKey))
    fail("the master's signature is invalid");
  const dh = agree(eph, serverEph);
  const macKey = sha512(LABEL, " mac", dh, h1).subarray(0, 32);
  const h2 = sha512(h1, sig);
  if (!timingSafeEqual(hmac(macKey, "server finished", h2), mac))
    fail("the master's key confirmation is invalid");
  return { masterKey: new Uint8Array(masterKey), t: { dh, macKey, hash: sha512(h2, mac) } };
}

// ---- message 3: client -> server: client key (32) | kind (1) | id length (1) | id | signature (64) | MAC (32) ----

export interface ClientClaim {
  id: string;
  kind: Kind;
  publicKey: Uint8Array;
}

function claimBytes(publicKey: Uint8Array, kind: Kind, idBytes: Uint8Array): Uint8Array {
  return concat(publicKey, new Uint8Array([KINDS.indexOf(kind) + 1, idBytes.length]), idBytes);
}

export function writeClientProof(
  t: Transcript,
  identity: Identity,
  id: string,
  kind: Kind,
): { m3: Uint8Array; final: Uint8Array } {
  const claim = claimBytes(identity.publicKey, kind, enc.encode(validateId(id)));
  const h3 = sha512(t.hash, claim);
  const sig = native.signDetached(
    concat(enc.encode(`${LABEL} client signature`), h3),
    identity.secretKey,
  );
  const h4 = sha512(h3, sig);
  const mac = hmac(t.macKey, "client finished", h4);
  return { m3: concat(claim, sig, mac), final: sha512(h4, mac) };
}

export function readClientProof(
  t: Transcript,
  m3: Uint8Array,
): { claim: ClientClaim; final: Uint8Array } {
  if (m3.length < 34) fail(`client proof of ${m3.length} bytes is too short`);
  const kind = KINDS[m3[32]! - 1];
  const idLength = m3[33]!;
  if (!kind) fail(`unknown peer kind ${m3[32]}`);
  if (m3.length !== 34 + idLength + 96)
    fail(`client proof of ${m3.length} bytes, expected ${34 + idLength + 96}`);
  let id: string;
  try {
    id = validateId(
      new TextDecoder("utf-8", { fatal: true }).decode(m3.subarray(34, 34 + idLength)),
    );
  } catch (err) {
    fail(`the peer's id is invalid: ${(err as Error).message}`);
  }
  const publicKey = m3.subarray(0, 32);
  const claim = m3.subarray(0, 34 + idLength);
  const [sig, mac] = [m3.subarray(34 + idLength, 98 + idLength), m3.subarray(98 + idLength)];
  const h3 = sha512(t.hash, claim);
  if (!native.verifyDetached(concat(enc.encode(`${LABEL} client signature`), h3), sig, publicKey))
    fail("the peer's signature is invalid");
  const h4 = sha512(h3, sig);
  if (!timingSafeEqual(hmac(t.macKey, "client finished", h4), mac))
    fail("the peer's key confirmation is invalid");
  return { claim: { id, kind, publicKey: new Uint8Array(publicKey) }, final: sha512(h4, mac) };
}

/** One 32-byte key per direction: SHA-512(label || shared secret || transcript hash), split in two. */
export function sessionKeys(
  t: Transcript,
  final: Uint8Array,
): { clientToServer: Uint8Array; serverToClient: Uint8Array } {
  const k = sha512(LABEL, " session keys", t.dh, final);
  return { clientToServer: k.subarray(0, 32), serverToClient: k.subarray(32, 64) };
}
