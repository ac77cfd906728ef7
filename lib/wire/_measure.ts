// A walk over msgpack bytes that allocates nothing: it checks a message
// against its limits (values in all, each string, binary, array and map, the
// nesting depth, no extension types) *before* the decoder builds any object,
// so that a hostile frame (33 million empty maps in 32 MiB) costs at most
// `nodes` steps and is refused without taking memory. Strings and binaries are
// skipped by their length. Pure: no I/O. Private to wire/: codec.ts, and
// rpc.ts for the requests it hands on undecoded.

import { ProtocolError } from "../errors.ts";

/** What one message may hold; codec.ts decodes nothing that exceeds one of them. */
export interface DecodeLimits {
  /** Bytes of the whole message. */
  bytes: number;
  /** Values of every kind together (a container counts once, plus its members). */
  nodes: number;
  /** Bytes of one string, of one binary; members of one array, entries of one map. */
  str: number;
  bin: number;
  array: number;
  map: number;
  /** Containers nested in one another. */
  depth: number;
}

const codecError = (msg: string) => new ProtocolError(msg, "E_CODEC");
/** Well formed as far as read, but larger than its kind allows: refused, not a reason to distrust the connection. */
const tooLarge = (msg: string) => new ProtocolError(msg, "E_TOO_LARGE");

/** Throws ProtocolError unless `b` is exactly one msgpack value within `lim`: E_TOO_LARGE past a limit, E_CODEC when malformed. */
export function measure(b: Uint8Array, lim: DecodeLimits): void {
  if (b.length > lim.bytes)
    throw tooLarge(`message of ${b.length} bytes exceeds the limit of ${lim.bytes} for its kind`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const open: number[] = []; // per open container: members still to come
  let pos = 0;
  let nodes = 0;
  const need = (n: number) => {
    if (pos + n > b.length) throw codecError("malformed message: truncated");
  };
  const uint = (size: number): number => {
    need(size);
    const v =
      size === 1 ? view.getUint8(pos) : size === 2 ? view.getUint16(pos) : view.getUint32(pos);
    pos += size;
    return v;
  };
  // A length the rest of the message cannot hold is malformed, not large: too large means really there.
  const skip = (n: number, max: number, what: string) => {
    need(n);
    if (n > max) throw tooLarge(`${what} of ${n} bytes exceeds the limit of ${max}`);
    pos += n;
  };
  /** A map of n entries has 2n members (keys and values). */
  const container = (n: number, isMap: boolean) => {
    const max = isMap ? lim.map : lim.array;
    const members = isMap ? n * 2 : n;
    if (members > b.length - pos)
      throw codecError(
        `malformed message: ${isMap ? "a map" : "an array"} of ${n} entries in ${b.length - pos} bytes`,
      );
    if (n > max)
      throw tooLarge(`${isMap ? "map" : "array"} of ${n} entries exceeds the limit of ${max}`);
    if (members === 0) return;
    if (open.length >= lim.depth)
      throw codecError(`message nested deeper than ${lim.depth} levels`);
    open.push(members);
  };
  const end = b.length;
  do {
    // The value read now is one member of the innermost open container.
    if (open.length) open[open.length - 1]!--;
    if (++nodes > lim.nodes) throw tooLarge(`message of more than ${lim.nodes} values`);
    if (pos >= end) throw codecError("malformed message: truncated");
    const t = b[pos++]!;
    // The commonest first, without a call (the interpreter runs most of salty's code: lib/jit-policy.ts).
    if (t >= 0xa0 && t <= 0xbf) {
      const n = t & 0x1f;
      if (pos + n > end) throw codecError("malformed message: truncated");
      if (n > lim.str) throw tooLarge(`string of ${n} bytes exceeds the limit of ${lim.str}`);
      pos += n;
    } else if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      // fixint, nil, bool: nothing follows
    } else if (t <= 0x8f) container(t & 0x0f, true);
    else if (t <= 0x9f) container(t & 0x0f, false);
    else if (t <= 0xbf) skip(t & 0x1f, lim.str, "string");
    else if (t >= 0xc4 && t <= 0xc6) skip(uint(1 << (t - 0xc4)), lim.bin, "binary");
    else if (t >= 0xd9 && t <= 0xdb) skip(uint(1 << (t - 0xd9)), lim.str, "string");
    else if (t === 0xdc || t === 0xdd) container(uint(t === 0xdc ? 2 : 4), false);
    else if (t === 0xde || t === 0xdf) container(uint(t === 0xde ? 2 : 4), true);
    else if (t === 0xca || t === 0xd2 || t === 0xce) skip(4, 4, "number");
    else if (t === 0xcb || t === 0xd3 || t === 0xcf) skip(8, 8, "number");
    else if (t === 0xcc || t === 0xd0) skip(1, 1, "number");
    else if (t === 0xcd || t === 0xd1) skip(2, 2, "number");
    else if ((t >= 0xc7 && t <= 0xc9) || (t >= 0xd4 && t <= 0xd8)) {
      const typeAt = t >= 0xd4 ? pos : pos + (1 << (t - 0xc7));
      need(typeAt + 1 - pos);
      throw codecError(`msgpack extension type ${view.getInt8(typeAt)} is not allowed`);
    } else
      throw codecError(`malformed message: byte 0x${t.toString(16)} at ${pos - 1} starts no value`);
    // Close the containers whose last member is complete (a container just opened has members to come).
    while (open.length && open[open.length - 1] === 0) open.pop();
  } while (open.length);
  if (pos !== b.length)
    throw codecError(`malformed message: ${b.length - pos} bytes after the value`);
}
