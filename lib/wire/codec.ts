// msgpack on the wire, hardened: extension types are refused (no Date or
// custom revivers from the network), and every message is first measured
// against the limits of its kind (_measure.ts: values in all, string, binary,
// array and map sizes, nesting) without allocating, so that decoding work and
// memory per frame are bounded; then decoded by _decode.ts, which relies on
// that (the library's decoder only for what it gives back); decode errors
// become ProtocolError. Encoding is the library's. Pure: no I/O.

import { Decoder, Encoder, type ExtensionCodecType } from "@msgpack/msgpack";
import { limits } from "../constants.ts";
import { ProtocolError } from "../errors.ts";
import { measure, type DecodeLimits } from "./_measure.ts";
import { NotPlain, decodeMeasured } from "./_decode.ts";

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

/** The decoder's state that its string reader uses (private in the library's types). */
interface StringReader {
  bytes: Uint8Array;
  pos: number;
  maxStrLength: number;
  keyDecoder: {
    canBeCached(n: number): boolean;
    decode(b: Uint8Array, at: number, n: number): string;
  } | null;
  stateIsMapKey(): boolean;
  decodeUtf8String(byteLength: number, headerOffset: number): string;
}

// A leading U+FEFF is part of the string (the default decoder would drop it).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Every string value through the native TextDecoder, where the library
 * decodes those under 200 bytes in a JavaScript loop: salty's code runs
 * mostly in the interpreter (lib/jit-policy.ts), where that loop is slow
 * (an 11.5 KB apply report: 0.57 -> 0.38 ms of CPU each, decoded 200 times;
 * docs/performance.md), as _decode.ts has them. Map keys keep the library's
 * cache; limits, bounds and errors are the library's own (it is called for
 * anything out of the ordinary).
 */
function nativeStrings(d: Decoder): void {
  const r = d as unknown as StringReader;
  const library = r.decodeUtf8String;
  r.decodeUtf8String = function (
    this: StringReader,
    byteLength: number,
    headerOffset: number,
  ): string {
    const at = this.pos + headerOffset;
    if (
      byteLength > this.maxStrLength ||
      this.bytes.byteLength < at + byteLength ||
      (this.stateIsMapKey() && this.keyDecoder?.canBeCached(byteLength))
    ) {
      return library.call(this, byteLength, headerOffset);
    }
    const s = utf8.decode(this.bytes.subarray(at, at + byteLength));
    this.pos = at + byteLength;
    return s;
  };
}

/** One decoder per set of limits: the library enforces the per-value ones again as it decodes. */
function decoderFor(lim: DecodeLimits): Decoder {
  let d = decoders.get(lim);
  if (!d) {
    d = new Decoder({
      extensionCodec: noExtensions,
      useBigInt64: false,
      maxStrLength: lim.str,
      maxBinLength: lim.bin,
      maxArrayLength: lim.array,
      maxMapLength: lim.map,
      maxExtLength: 0,
    });
    nativeStrings(d);
    decoders.set(lim, d);
  }
  return d;
}

/** The library's decoder as set up here (no measuring, its own errors): what _decode.ts gives back, and the tests' reference. */
export function libraryDecode(bytes: Uint8Array, lim: DecodeLimits = frameLimits): unknown {
  return decoderFor(lim).decode(bytes);
}

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function decode(bytes: Uint8Array, lim: DecodeLimits = frameLimits): unknown {
  measure(bytes, lim);
  try {
    // Measured, so decoded by _decode.ts; the library only for what that gives back (NotPlain).
    try {
      return decodeMeasured(bytes);
    } catch (err) {
      if (!(err instanceof NotPlain)) throw err;
    }
    return libraryDecode(bytes, lim);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(
      `malformed message: ${err instanceof Error ? err.message : String(err)}`,
      "E_CODEC",
    );
  }
}
