// A role request as the agent receives it, decoded once and where it is used.
// The connection (main thread) reads only the fields it needs from the bytes
// (readHead: the role's name and file, its timeout, the apply, live results,
// the shared hosts' reference) and hands the bytes on; the role worker decodes
// the rest (RequestDecoder), so the request is neither decoded twice nor
// structured-cloned between the threads. Rpc has measured the bytes against
// the limits of a request before either reads them (wire/rpc.ts Undecoded).
//
// The worker keeps each large value it decoded (the context, the known
// hashes, the modules) by its exact bytes: the same role sends the same
// context every apply, and decoding it is most of a request's cost. A value is
// found by a hash and taken only when its bytes are equal, byte for byte, and
// every run gets its own deep copy, so a role that changes its context changes
// nothing the next run sees (the known hashes, which only the agent reads, are
// shared, frozen). Pure but for that bounded map: no I/O.

import { ProtocolError } from "../errors.ts";
import { decode } from "../wire/codec.ts";
import type { RunRoleRequest } from "../wire/api.ts";

/** What the connection reads of a role request. */
export type RoleHead = Pick<
  RunRoleRequest,
  "role" | "filename" | "timeoutMs" | "apply" | "last" | "stream" | "sharedHosts"
>;

/**
 * A role request still as the master sent it (msgpack of a RunRoleRequest), with its head read and
 * where its other values are (`[key, from, to, …]`: the worker need not walk the bytes again).
 */
export type PackedRoleRequest = RoleHead & { packed: Uint8Array; fields: (string | number)[] };

const HEAD = new Set<string>([
  "role",
  "filename",
  "timeoutMs",
  "apply",
  "last",
  "stream",
  "sharedHosts",
]);

export function isPacked(r: RunRoleRequest | PackedRoleRequest): r is PackedRoleRequest {
  return "packed" in r;
}

/** The head of a request's msgpack bytes; the bytes themselves go along unread. */
export function readHead(packed: Uint8Array): PackedRoleRequest {
  const head: Record<string, unknown> = {};
  const fields: (string | number)[] = [];
  entries(packed, (key, from, to) => {
    if (HEAD.has(key)) head[key] = valueAt(packed, from, to);
    else fields.push(key, from, to);
  });
  if (typeof head.role !== "string" || typeof head.filename !== "string")
    throw new ProtocolError("a role request needs a role and a filename", "E_PARAMS");
  if (typeof head.timeoutMs !== "number")
    throw new ProtocolError("a role request needs a timeout", "E_PARAMS");
  return { ...(head as RoleHead), packed, fields };
}

/** Values up to this size are decoded each time; larger maps and arrays are kept by their bytes. */
const SMALL = 64;
const MAX_ENTRIES = 256;
const MAX_BYTES = 1024 * 1024;

/** The role worker's: requests decoded, their large values from memory while their bytes are the same. */
export class RequestDecoder {
  private readonly kept = new Map<string, { bytes: Uint8Array; value: unknown }>();

  /** The whole request; `sharedHosts` is the connection's (it fills in the hosts' bytes: SharedHostsStore). */
  unpack(p: PackedRoleRequest): RunRoleRequest {
    const req: Record<string, unknown> = {};
    const f = p.fields;
    for (let i = 0; i + 2 < f.length; i += 3) {
      const key = f[i] as string;
      const from = f[i + 1] as number;
      const to = f[i + 2] as number;
      if (HEAD.has(key) || key === "__proto__") continue; // the head: read already, by the connection
      const bytes = p.packed.subarray(from, to);
      req[key] =
        bytes.length > SMALL && isContainer(bytes[0]!)
          ? this.value(bytes, key === "known")
          : valueAt(p.packed, from, to);
    }
    for (const key of HEAD) {
      const value = (p as Record<string, unknown>)[key];
      if (value !== undefined) req[key] = value;
    }
    return req as unknown as RunRoleRequest;
  }

  /** `shared`: a value only the agent reads (the known hashes), given frozen, not copied. */
  private value(bytes: Uint8Array, shared: boolean): unknown {
    if (bytes.length > MAX_BYTES) return decode(bytes);
    const key = `${shared ? "s" : ""}${bytes.length}:${Bun.hash(bytes)}`;
    const hit = this.kept.get(key);
    if (hit && Buffer.from(hit.bytes).equals(bytes)) {
      this.kept.delete(key); // most recently used last: the oldest is evicted first
      this.kept.set(key, hit);
      return shared ? hit.value : copy(hit.value);
    }
    const value = shared ? deepFreeze(decode(bytes)) : decode(bytes);
    this.kept.delete(key);
    this.kept.set(key, { bytes: new Uint8Array(bytes), value });
    for (const old of this.kept.keys()) {
      if (this.kept.size <= MAX_ENTRIES) break;
      this.kept.delete(old);
    }
    return shared ? value : copy(value);
  }
}

function deepFreeze(v: unknown): unknown {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** A deep copy of what msgpack decodes to: plain objects, arrays, byte arrays and scalars. */
function copy(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) {
    const a = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) a[i] = copy(v[i]);
    return a;
  }
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) o[k] = copy((v as Record<string, unknown>)[k]);
  return o;
}

/** The value of `b[from, to)`: strings, numbers and booleans read here, anything else by the decoder. */
function valueAt(b: Uint8Array, from: number, to: number): unknown {
  const t = b[from]!;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb) {
    const at = t <= 0xbf ? 1 : t === 0xd9 ? 2 : t === 0xda ? 3 : 5;
    return utf8.decode(b.subarray(from + at, to));
  }
  if (t === 0xc2 || t === 0xc3) return t === 0xc3;
  if (t === 0xc0) return null;
  const v = new DataView(b.buffer, b.byteOffset + from + 1, to - from - 1);
  if (t === 0xcc) return v.getUint8(0);
  if (t === 0xcd) return v.getUint16(0);
  if (t === 0xce) return v.getUint32(0);
  if (t === 0xcb) return v.getFloat64(0);
  return decode(b.subarray(from, to));
}

function isContainer(t: number): boolean {
  return (t >= 0x80 && t <= 0x9f) || (t >= 0xdc && t <= 0xdf);
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Calls `each` with every key of the msgpack map `b` and where its value's bytes are. (No array
 * destructuring or spreads here: the interpreter runs their iteration slowly.)
 */
function entries(b: Uint8Array, each: (key: string, from: number, to: number) => void): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const t = b[0];
  let n = -1;
  let pos = 0;
  if (t !== undefined && t >= 0x80 && t <= 0x8f) (n = t & 0x0f), (pos = 1);
  else if (t === 0xde && b.length >= 3) (n = v.getUint16(1)), (pos = 3);
  else if (t === 0xdf && b.length >= 5) (n = v.getUint32(1)), (pos = 5);
  else throw new ProtocolError("a role request must be a map", "E_PARAMS");
  for (let i = 0; i < n; i++) {
    const k = b[pos]!;
    const short = k >= 0xa0 && k <= 0xbf;
    const len = short ? k & 0x1f : k === 0xd9 ? (b[pos + 1] ?? -1) : -1;
    const at = short ? pos + 1 : pos + 2;
    if (len < 0 || at + len > b.length)
      throw new ProtocolError("a role request's keys must be short strings", "E_PARAMS");
    const key = keyAt(b, at, len);
    if (key === "__proto__")
      throw new ProtocolError("the key __proto__ is not allowed", "E_PARAMS");
    const end = skip(b, v, at + len);
    each(key, at + len, end);
    pos = end;
  }
}

/** A key: ASCII by a loop, anything else by the decoder. */
function keyAt(b: Uint8Array, at: number, len: number): string {
  let key = "";
  for (let i = at; i < at + len; i++) {
    if (b[i]! >= 0x80) return utf8.decode(b.subarray(at, at + len));
    key += String.fromCharCode(b[i]!);
  }
  return key;
}

/** Where the msgpack value at `pos` ends (the bytes were measured: well formed, no extensions). */
function skip(b: Uint8Array, v: DataView, pos: number): number {
  let left = 1; // values still to pass, containers' members included
  while (left > 0) {
    left--;
    if (!(pos < b.length)) throw new ProtocolError("a role request is truncated", "E_PARAMS");
    const t = b[pos++]!;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) continue;
    if (t <= 0x8f) left += (t & 0x0f) * 2;
    else if (t <= 0x9f) left += t & 0x0f;
    else if (t <= 0xbf) pos += t & 0x1f;
    else if (t === 0xc4 || t === 0xd9) pos += 1 + b[pos]!;
    else if (t === 0xc5 || t === 0xda) pos += 2 + v.getUint16(pos);
    else if (t === 0xc6 || t === 0xdb) pos += 4 + v.getUint32(pos);
    else if (t === 0xdc) (left += v.getUint16(pos)), (pos += 2);
    else if (t === 0xdd) (left += v.getUint32(pos)), (pos += 4);
    else if (t === 0xde) (left += v.getUint16(pos) * 2), (pos += 2);
    else if (t === 0xdf) (left += v.getUint32(pos) * 2), (pos += 4);
    else if (t === 0xcc || t === 0xd0) pos += 1;
    else if (t === 0xcd || t === 0xd1) pos += 2;
    else if (t === 0xca || t === 0xce || t === 0xd2) pos += 4;
    else if (t === 0xcb || t === 0xcf || t === 0xd3) pos += 8;
    else throw new ProtocolError(`byte 0x${t.toString(16)} starts no value here`, "E_PARAMS");
  }
  if (!(pos <= b.length)) throw new ProtocolError("a role request is truncated", "E_PARAMS");
  return pos;
}
