// msgpack on the wire, hardened: extension types are refused (no Date or
// custom revivers from the network), nesting deeper than limits.maxDepth is
// refused, and decode errors become ProtocolError. Pure: no I/O.

import { Decoder, Encoder, type ExtensionCodecType } from "@msgpack/msgpack";
import { limits } from "../constants.ts";
import { ProtocolError } from "../errors.ts";

const noExtensions: ExtensionCodecType<undefined> = {
  tryToEncode: () => null,
  decode: (_data, type) => {
    throw new ProtocolError(`msgpack extension type ${type} is not allowed`, "E_CODEC");
  },
};

const encoder = new Encoder({ extensionCodec: noExtensions, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec: noExtensions, useBigInt64: false });

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

export function decode(bytes: Uint8Array): unknown {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`malformed message: ${err instanceof Error ? err.message : String(err)}`, "E_CODEC");
  }
  checkDepth(value, limits.maxDepth);
  return value;
}

/** Iterative, so a hostile document cannot overflow our stack while we measure it. */
function checkDepth(root: unknown, max: number): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object" || v instanceof Uint8Array) continue;
    if (depth > max) throw new ProtocolError(`message nested deeper than ${max} levels`, "E_CODEC");
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
}
