import { describe, expect, test } from "bun:test";
import { FrameDecoder, encodeFrame } from "../../lib/wire/frame.ts";
import { decode, encode } from "../../lib/wire/codec.ts";
import { ProtocolError } from "../../lib/errors.ts";

describe("FrameDecoder", () => {
  test("reassembles frames split at every byte boundary", () => {
    const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7)];
    const wire = Buffer.concat(frames.map(encodeFrame));
    for (const step of [1, 2, 3, 5, 999, wire.length]) {
      const d = new FrameDecoder(4096);
      const out: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += step) out.push(...d.push(wire.subarray(i, i + step)));
      expect(out.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
      expect(d.pending).toBe(0);
    }
  });

  test("refuses a frame announcing more than the limit before buffering it", () => {
    const d = new FrameDecoder(100);
    expect(() => d.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(ProtocolError);
    const d2 = new FrameDecoder(100);
    expect(() => d2.push(new Uint8Array([0, 0, 0, 101]))).toThrow(/exceeds the limit of 100/);
    expect(new FrameDecoder(100).push(encodeFrame(new Uint8Array(100)))).toHaveLength(1);
  });
});

describe("codec", () => {
  test("round-trips the values the protocol uses", () => {
    const v = { a: 1, b: "x", c: [true, null, 2.5], d: new Uint8Array([9, 8]), e: { f: -3 } };
    expect(decode(encode(v))).toEqual(v);
  });

  test.each([
    [
      "an extension type (timestamp)",
      new Uint8Array([0xd6, 0xff, 0, 0, 0, 0]),
      /extension type -1/,
    ],
    ["a custom extension type", new Uint8Array([0xd4, 0x05, 0x00]), /extension type 5/],
    ["truncated data", encode({ a: "hello" }).subarray(0, 4), /malformed message/],
    [
      "a __proto__ key",
      new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]),
      /__proto__/,
    ],
  ])("refuses %s", (_name, bytes, message) => {
    expect(() => decode(bytes)).toThrow(message);
  });

  test("refuses nesting deeper than the limit, without recursion", () => {
    const deep = new Uint8Array(100_000).fill(0x91); // 100k nested one-element arrays
    expect(() => decode(new Uint8Array([...deep, 0xc0]))).toThrow(/nested deeper than/);
    let ok: unknown = 1;
    for (let i = 0; i < 60; i++) ok = [ok];
    expect(decode(encode(ok))).toEqual(ok);
  });
});
