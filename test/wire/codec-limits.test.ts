// The codec's limits, measured before anything is decoded (lib/wire/_measure.ts
// through codec.ts): every kind of limit refuses with E_TOO_LARGE, a malformed
// message with E_CODEC, and a hostile frame of millions of empty maps is
// refused after at most `nodes` steps, without building them.
import { describe, expect, test } from "bun:test";
import { encode as plainEncode } from "@msgpack/msgpack";
import { decode, encode, frameLimits, type DecodeLimits } from "../../lib/wire/codec.ts";
import { fromAgent } from "../../lib/wire/inbound.ts";

const small: DecodeLimits = {
  bytes: 1000,
  nodes: 50,
  str: 20,
  bin: 20,
  array: 10,
  map: 5,
  depth: 4,
};
const code = (f: () => unknown) => {
  try {
    f();
    return "ok";
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
};

/** `n` empty maps in one array32, as bytes (33 million of them make the 32 MiB frame of issue 13). */
function emptyMaps(n: number): Uint8Array {
  const b = new Uint8Array(5 + n).fill(0x80);
  b[0] = 0xdd;
  new DataView(b.buffer).setUint32(1, n);
  return b;
}

describe("within the limits, values decode as before", () => {
  test.each([
    ["nil", null],
    ["numbers", [0, -1, 127, 128, 65_536, 2 ** 32, -(2 ** 40), 1.5]],
    ["strings and binaries at their limit", ["x".repeat(20), new Uint8Array(20)]],
    ["nested to the depth limit", [[[["deep"]]]]],
    ["maps", { a: 1, b: { c: [true, false] } }],
    ["empty containers", [[], {}, ""]],
  ])("%s", (_what, value) => {
    expect(decode(encode(value), small)).toEqual(value);
  });
});

describe("past a limit: E_TOO_LARGE, nothing decoded", () => {
  test.each([
    [
      "bytes",
      Array(10).fill("y".repeat(120)),
      /E_TOO_LARGE: message of \d+ bytes exceeds the limit of 1000/,
    ],
    ["a string", "x".repeat(201), /E_TOO_LARGE: string of 201 bytes exceeds the limit of 200/],
    ["a binary", new Uint8Array(21), /E_TOO_LARGE: binary of 21 bytes exceeds the limit of 20/],
    ["an array", Array(11).fill(0), /E_TOO_LARGE: array of 11 entries exceeds the limit of 10/],
    [
      "a map",
      Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, i])),
      /E_TOO_LARGE: map of 6 entries exceeds the limit of 5/,
    ],
    [
      "values in all",
      Array(10).fill(Array(9).fill(0)),
      /E_TOO_LARGE: message of more than 50 values/,
    ],
  ])("%s", (_what, value, error) => {
    expect(code(() => decode(plainEncode(value), { ...small, str: 200 }))).toMatch(error);
  });

  test("33 million empty maps (a 32 MiB frame): refused by the array limit of an agent's request", () => {
    expect(code(() => decode(emptyMaps(33_000_000), fromAgent.request))).toMatch(
      /E_TOO_LARGE: message of 33000005 bytes exceeds the limit of 1048576/,
    );
  });

  test("the same maps split into arrays that each pass: refused once the report's value budget is spent", () => {
    const part = emptyMaps(100_000);
    const frame = new Uint8Array(5 + part.length * 300);
    frame[0] = 0xdd;
    new DataView(frame.buffer).setUint32(1, 300);
    for (let i = 0; i < 300; i++) frame.set(part, 5 + i * part.length);
    expect(code(() => decode(frame, fromAgent.reply("role.run")))).toMatch(
      /E_TOO_LARGE: message of more than 1000000 values/,
    );
  });
});

describe("malformed: E_CODEC", () => {
  test.each([
    [
      "truncated",
      Uint8Array.from([0x92, 0x01]),
      /E_CODEC: malformed message: an array of 2 entries in 1 bytes/,
    ],
    [
      "truncated in a value",
      Uint8Array.from([0x92, 0x01, 0xcd, 0x01]),
      /E_CODEC: malformed message: truncated/,
    ],
    [
      "an array claiming more entries than the message holds bytes (garbage, not a large message)",
      Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
      /E_CODEC: malformed message: an array of 4294967295 entries in 1 bytes/,
    ],
    [
      "a string longer than the message (not a large one)",
      Uint8Array.from([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61]),
      /E_CODEC: malformed message: truncated/,
    ],
    [
      "bytes after the value",
      Uint8Array.from([0x01, 0x02]),
      /E_CODEC: malformed message: 1 bytes after the value/,
    ],
    ["the never-used byte 0xc1", Uint8Array.from([0xc1]), /E_CODEC: malformed message: byte 0xc1/],
    [
      "a fixext",
      Uint8Array.from([0x91, 0xd4, 0x07, 0x00]),
      /E_CODEC: msgpack extension type 7 is not allowed/,
    ],
    [
      "an ext8 of type -1 (a Date)",
      Uint8Array.from([0xc7, 0x04, 0xff, 0, 0, 0, 0]),
      /E_CODEC: msgpack extension type -1 is not allowed/,
    ],
    [
      "nested one past the depth",
      Uint8Array.from([0x91, 0x91, 0x91, 0x91, 0x91, 0xc0]),
      /E_CODEC: message nested deeper than 4 levels/,
    ],
    [
      "a string longer than the message",
      Uint8Array.from([0xa5, 0x61]),
      /E_CODEC: malformed message: truncated/,
    ],
  ])("%s", (_what, bytes, error) => {
    expect(code(() => decode(bytes, small))).toMatch(error);
  });

  test("100,000-deep nesting under the frame limits: refused at depth 65", () => {
    expect(
      code(() =>
        decode(Uint8Array.from([...Array<number>(100_000).fill(0x91), 0xc0]), frameLimits),
      ),
    ).toMatch(/nested deeper than 64 levels/);
  });
});

describe("strings decoded natively (codec.ts nativeStrings)", () => {
  const strings = [
    "",
    "a",
    "plain ascii",
    "é",
    "日本語のテキスト",
    "emoji 🎉 in it",
    "\uFEFFleading BOM kept",
    "x".repeat(199),
    "y".repeat(201),
    "z".repeat(16),
    "k".repeat(17),
    "nul\0inside",
  ];
  test("values and keys of every length come back as they were", () => {
    const value = {
      list: strings,
      map: Object.fromEntries(strings.map((s, i) => [s, i])),
      nested: [{ [strings[5]!]: strings[6] }],
    };
    expect(decode(encode(value))).toEqual(value);
    expect(decode(plainEncode(value), frameLimits)).toEqual(value);
  });
  test("limits and truncation are still refused", () => {
    expect(code(() => decode(encode({ s: "x".repeat(21) }), small))).toStartWith("E_TOO_LARGE");
    const bytes = encode({ s: "a string long enough" });
    expect(code(() => decode(bytes.subarray(0, bytes.length - 3)))).toStartWith("E_");
  });
});
