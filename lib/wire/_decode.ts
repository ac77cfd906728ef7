// The msgpack decoder for bytes that _measure.ts has accepted: exactly one
// well-formed value, no extension types, every length inside the message and
// within its limits, nested at most `depth` deep. So it checks nothing of the
// structure again and recurses (64 levels at most): a few small functions the
// interpreter runs quickly, where the library's general decoder (a state
// stack, a method per byte read) is what salty's cold code pays most for on
// every message (lib/jit-policy.ts; docs/performance.md: an 11.5 KB apply
// report 5.6 -> 1.4 ms of CPU in a client command). What it builds is what
// the library builds (plain objects and arrays, numbers as the library
// reads them without BigInt, binaries as views of the message, strings
// through the native TextDecoder as codec.ts had them); a short map key that
// is not plain UTF-8, which the library decodes its own way, makes it give the
// whole message back to the library (NotPlain). Private to codec.ts.

/** Thrown when the library must decode this message instead (a key whose bytes are not valid UTF-8). */
export class NotPlain extends Error {}

// A leading U+FEFF is part of the string (the default decoder would drop it).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The longest key the library decodes with its own UTF-8 reader (its key cache's limit). */
const LIBRARY_KEY_MAX = 16;

/** Decodes `b`, which measure() has accepted. Throws NotPlain, or the library's error for a key it refuses. */
export function decodeMeasured(b: Uint8Array): unknown {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 0;

  const text = (n: number): string => {
    const s = n === 0 ? "" : utf8.decode(b.subarray(pos, pos + n));
    pos += n;
    return s;
  };

  /** A map key: a string's bytes checked as the library would read them itself. */
  const key = (): unknown => {
    const t = b[pos]!;
    let n: number;
    if (t >= 0xa0 && t <= 0xbf) {
      n = t - 0xa0;
      pos += 1;
    } else if (t === 0xd9) {
      n = b[pos + 1]!;
      pos += 2;
    } else if (t === 0xda) {
      n = view.getUint16(pos + 1);
      pos += 3;
    } else if (t === 0xdb) {
      n = view.getUint32(pos + 1);
      pos += 5;
    } else return value();
    const s = text(n);
    if (n <= LIBRARY_KEY_MAX && s.includes("\ufffd")) throw new NotPlain();
    return s;
  };

  const map = (n: number): Record<string, unknown> => {
    const m: Record<string, unknown> = {};
    for (; n > 0; n--) {
      const k = key();
      // The library's words for the keys it refuses.
      if (typeof k !== "string" && typeof k !== "number")
        throw new Error(`The type of key must be string or number but ${typeof k}`);
      if (k === "__proto__") throw new Error("The key __proto__ is not allowed");
      m[k] = value();
    }
    return m;
  };

  const array = (n: number): unknown[] => {
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = value();
    return a;
  };

  const value = (): unknown => {
    const t = b[pos++]!;
    if (t < 0x80) return t;
    if (t < 0x90) return map(t - 0x80);
    if (t < 0xa0) return array(t - 0x90);
    if (t < 0xc0) return text(t - 0xa0);
    if (t >= 0xe0) return t - 0x100;
    let v: unknown;
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        v = view.getFloat32(pos);
        pos += 4;
        return v;
      case 0xcb:
        v = view.getFloat64(pos);
        pos += 8;
        return v;
      case 0xcc:
        return b[pos++];
      case 0xcd:
        v = view.getUint16(pos);
        pos += 2;
        return v;
      case 0xce:
        v = view.getUint32(pos);
        pos += 4;
        return v;
      case 0xcf: // as the library without BigInt: exact up to 2^53
        v = view.getUint32(pos) * 4294967296 + view.getUint32(pos + 4);
        pos += 8;
        return v;
      case 0xd0:
        return view.getInt8(pos++);
      case 0xd1:
        v = view.getInt16(pos);
        pos += 2;
        return v;
      case 0xd2:
        v = view.getInt32(pos);
        pos += 4;
        return v;
      case 0xd3:
        v = view.getInt32(pos) * 4294967296 + view.getUint32(pos + 4);
        pos += 8;
        return v;
      case 0xd9:
        return text(b[pos++]!);
      case 0xda:
        pos += 2;
        return text(view.getUint16(pos - 2));
      case 0xdb:
        pos += 4;
        return text(view.getUint32(pos - 4));
      case 0xc4:
      case 0xc5:
      case 0xc6: {
        const w = t === 0xc4 ? 1 : t === 0xc5 ? 2 : 4;
        const n = w === 1 ? b[pos]! : w === 2 ? view.getUint16(pos) : view.getUint32(pos);
        pos += w + n;
        return b.subarray(pos - n, pos);
      }
      case 0xdc:
        pos += 2;
        return array(view.getUint16(pos - 2));
      case 0xdd:
        pos += 4;
        return array(view.getUint32(pos - 4));
      case 0xde:
        pos += 2;
        return map(view.getUint16(pos - 2));
      case 0xdf:
        pos += 4;
        return map(view.getUint32(pos - 4));
    }
    // measure() lets nothing else through.
    throw new NotPlain();
  };

  return value();
}
