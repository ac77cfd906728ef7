// msgpack on the wire, hardened: extension types are refused (no Date or
// custom revivers from the network), and every message is first measured
// against the limits of its kind (_measure.ts: values in all, string, binary,
// array and map sizes, nesting) without allocating, so that decoding work and
// memory per frame are bounded; decode errors become ProtocolError. Pure: no I/O.

import { Decoder, Encoder, type ExtensionCodecType } from "@msgpack/msgpack";
import { limits } from "../constants.ts";
import { ProtocolError } from "../errors.ts";
import { measure, type DecodeLimits } from "./_measure.ts";

export type { DecodeLimits } from "./_measure.ts";

const noExtensions: ExtensionCodecType<undefined> = {
  tryToEncode: () => null,
  decode: (_data, type) => {
    throw new ProtocolError(`msgpack extension type ${type} is not allowed`, "E_CODEC");
  },
};

/** What a frame can hold: the limits of messages from a peer we trust as much as the frame limit (the master, to agents and clients). */
export const frameLimits: DecodeLimits = {
  bytes: limits.maxFrame,
  nodes: limits.maxFrame,
  str: limits.maxFrame,
  bin: limits.maxFrame,
  array: limits.maxFrame,
  map: limits.maxFrame,
  depth: limits.maxDepth,
};

const encoder = new Encoder({ extensionCodec: noExtensions, ignoreUndefined: true });
const decoders = new WeakMap<DecodeLimits, Decoder>();

/** One decoder per set of limits: the library enforces the per-value ones again as it decodes. */
function decoderFor(lim: DecodeLimits): Decoder {
  let d = decoders.get(lim);
  if (!d) {
    d = new Decoder({ extensionCodec: noExtensions, useBigInt64: false, maxStrLength: lim.str, maxBinLength: lim.bin, maxArrayLength: lim.array, maxMapLength: lim.map, maxExtLength: 0 });
    decoders.set(lim, d);
  }
  return d;
}

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function decode(bytes: Uint8Array, lim: DecodeLimits = frameLimits): unknown {
  measure(bytes, lim);
  try {
    return decoderFor(lim).decode(bytes);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed message: ${err instanceof Error ? err.message : String(err)}`, "E_CODEC");
  }
}
