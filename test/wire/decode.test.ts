// codec.ts's decoder (lib/wire/_decode.ts after _measure.ts) builds exactly
// what the library's decoder built: the same values, types, key order and
// errors, for messages of every shape (random ones from a seed, and encodings
// the library's encoder never makes), and the library's own way for a short
// map key that is not valid UTF-8 (the one case _decode.ts gives back).
import { describe, expect, test } from "bun:test";
import { Encoder } from "@msgpack/msgpack";
import { decode, encode, libraryDecode } from "../../lib/wire/codec.ts";

/** The library's decoder as codec.ts used it before (and still does for what _decode.ts gives back). */
const library = { decode: (b: Uint8Array) => libraryDecode(b) };
const forced = new Encoder({ forceFloat32: true, ignoreUndefined: true });

/** Every value with its type, binaries' classes and keys in order: equal shapes mean equal decodes. */
function shape(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `${v.constructor.name}[${Buffer.from(v).toString("hex")}]`;
  if (Array.isArray(v)) return `[${v.map(shape).join(",")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v as object)
      .map(([k, x]) => `${JSON.stringify(k)}:${shape(x)}`)
      .join(",")}}`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  return `${typeof v}:${JSON.stringify(v)}`;
}

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const PIECES = ["a", "cmd", "é", "日本", "😀", "\ufeff", "\0", " ", "elapsed", "x".repeat(40)];

function randomString(r: ReturnType<typeof rng>): string {
  const long = r.int(20) === 0;
  let s = "";
  for (let i = r.int(long ? 400 : 6); i > 0; i--) s += PIECES[r.int(PIECES.length)];
  return s;
}

function randomNumber(r: ReturnType<typeof rng>): number {
  const k = r.int(10);
  if (k === 0) return -r.int(33);
  if (k === 1) return r.int(2 ** 31) * (r.int(2) ? 1 : -1);
  if (k === 2) return r.int(2 ** 21) * 2 ** 32 + r.int(2 ** 32);
  if (k === 3) return -(r.int(2 ** 20) * 2 ** 32 + r.int(2 ** 32));
  if (k === 4) return (r.next() - 0.5) * 10 ** r.int(20);
  if (k === 5) return [Number.NaN, Infinity, -Infinity, -0, 2 ** 53][r.int(5)]!;
  return r.int([128, 256, 65_536, 2 ** 32][r.int(4)]!);
}

function randomValue(r: ReturnType<typeof rng>, depth: number): unknown {
  const k = r.int(depth > 5 ? 6 : 9);
  if (k === 0) return null;
  if (k === 1) return r.int(2) === 0;
  if (k === 2 || k === 3) return randomNumber(r);
  if (k === 4) return randomString(r);
  if (k === 5) {
    const n = r.int(40) === 0 ? 65_536 + r.int(100) : r.int(4) === 0 ? 256 + r.int(500) : r.int(20);
    return new Uint8Array(n).map(() => r.int(256));
  }
  if (k === 6)
    return Array.from({ length: r.int(r.int(8) === 0 ? 70 : 6) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = r.int(r.int(8) === 0 ? 40 : 6); i > 0; i--)
    o[r.int(6) === 0 ? String(r.int(1000)) : randomString(r)] = randomValue(r, depth + 1);
  return o;
}

describe("the same values as the library's decoder", () => {
  test("300 random messages of every type, nested up to 7 deep", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const v = randomValue(r, 0);
      for (const bytes of [encode(v), forced.encode(v)]) {
        const ours = decode(bytes);
        const theirs = library.decode(bytes);
        // Compared as shapes, but only the seed is named: a message can be megabytes.
        if (shape(ours) !== shape(theirs)) throw new Error(`seed ${seed}: not the library's value`);
      }
    }
  });

  test("encodings the library's encoder does not make: wide headers for small sizes, 64-bit integers", () => {
    const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));
    const cases = [
      "da000161", // str16 "a"
      "db0000000162", // str32 "b"
      "de0001da00016101", // map16 {a: 1} with a str16 key
      "df00000001d9016102", // map32 {a: 2} with a str8 key
      "dc0002c0c3", // array16 [null, true]
      "dd00000000", // array32 []
      "de0000", // map16 {}
      "cf0020000000000000", // uint64 2^53
      "cfffffffffffffffff", // uint64 beyond 2^53: rounded as the library does
      "d3ffffff0000000000", // int64 -2^40
      "d38000000000000000", // int64 min
      "c400", // bin8 empty
      "c5000201ff", // bin16 [1, 255]
      "c60000000103", // bin32 [3]
      "ca3fc00000", // float32 1.5
      "8201a17805a179", // {1: "x", 5: "y"}: number keys
      "82a161a162a161a163", // a key twice: the last value
      "81a0a0", // the empty key
      "93d000d1fffed2fffffffe", // [int8, int16, int32]
    ];
    for (const c of cases) {
      const bytes = hex(c);
      let ours: string;
      let theirs: string;
      try {
        ours = shape(decode(bytes));
      } catch (err) {
        ours = `error ${(err as Error).message}`;
      }
      try {
        theirs = shape(library.decode(bytes));
      } catch (err) {
        theirs = `error malformed message: ${(err as Error).message}`;
      }
      expect([c, ours]).toEqual([c, theirs]);
    }
  });

  test("binaries are views of the message, as the library gives them", () => {
    const bytes = Buffer.from(encode({ b: new Uint8Array([1, 2, 3]) }));
    const b = (decode(bytes) as { b: Uint8Array }).b;
    expect(b).toBeInstanceOf(Buffer);
    expect(b.buffer).toBe(bytes.buffer);
    expect([...b]).toEqual([1, 2, 3]);
  });

  test("keys the library refuses are refused with its words", () => {
    const refused = (bytes: number[]) => {
      try {
        decode(new Uint8Array(bytes));
        return "decoded";
      } catch (err) {
        return `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
    };
    const codec = "E_CODEC: malformed message:";
    expect(refused([0x81, 0xc0, 0x01])).toBe(
      `${codec} The type of key must be string or number but object`,
    );
    expect(refused([0x81, 0xc3, 0x01])).toBe(
      `${codec} The type of key must be string or number but boolean`,
    );
    expect(refused([0x81, 0x91, 0xa1, 0x61, 0x01])).toBe(
      `${codec} The type of key must be string or number but object`,
    );
    const proto = [0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01];
    expect(refused(proto)).toBe(`${codec} The key __proto__ is not allowed`);
    expect(Object.getPrototypeOf(decode(encode({ constructor: 1 })))).toBe(Object.prototype);
  });

  test("bytes that are not UTF-8: a short key as the library reads it, a long key and every value through TextDecoder", () => {
    const bad = [0xff, 0x61, 0xc3]; // not UTF-8: a stray byte, then a cut sequence
    const shortKey = new Uint8Array([0x81, 0xa3, ...bad, 0x01]);
    expect(Object.keys(decode(shortKey) as object)).toEqual(
      Object.keys(library.decode(shortKey) as object),
    );
    expect(Object.keys(decode(shortKey) as object)).toEqual(["\u00ffa\u00c1"]); // its reader reads on into the value
    const long = [...bad, ...new Array(14).fill(0x62)]; // 17 bytes: past the library's key reader
    const longKey = new Uint8Array([0x81, 0xa0 + long.length, ...long, 0x01]);
    expect(Object.keys(decode(longKey) as object)).toEqual([`\ufffda\ufffd${"b".repeat(14)}`]);
    const value = new Uint8Array([0x91, 0xa3, ...bad]);
    expect(decode(value)).toEqual(["\ufffda\ufffd"]);
    // A key that holds U+FFFD itself, in valid UTF-8, is the same either way.
    expect(decode(encode({ "\ufffd": 1 }))).toEqual({ "\ufffd": 1 });
  });
});

describe("short strings measured first, as every other value", () => {
  const lim = { bytes: 1000, nodes: 50, str: 20, bin: 20, array: 10, map: 5, depth: 4 };
  const outcome = (bytes: number[]) => {
    try {
      return decode(new Uint8Array(bytes), lim);
    } catch (err) {
      return `${(err as { code?: string }).code}: ${(err as Error).message}`;
    }
  };
  const x = (n: number) => new Array(n).fill(0x78);

  test("a string of 21 bytes in a short header is past a limit of 20; 20 is within", () => {
    expect(outcome([0xb5, ...x(21)])).toBe(
      "E_TOO_LARGE: string of 21 bytes exceeds the limit of 20",
    );
    expect(outcome([0x91, 0xb4, ...x(20)])).toEqual(["x".repeat(20)]);
  });

  test("a short string cut off is malformed, not large; so is one with bytes after it", () => {
    expect(outcome([0xb5, ...x(3)])).toBe("E_CODEC: malformed message: truncated");
    expect(outcome([0x92, 0xa3, ...x(3)])).toBe("E_CODEC: malformed message: truncated");
    expect(outcome([0xa1, 0x78, 0x78])).toBe("E_CODEC: malformed message: 1 bytes after the value");
    expect(outcome([0x81, 0xa1, 0x61])).toBe("E_CODEC: malformed message: truncated");
  });
});
