// print() keeps at most limits.printOutputBytes per role run and says what it
// cut: a role printing 100 MB must not make its report too large to send.
import { describe, expect, test } from "bun:test";
import type { Context } from "salty";
import { limits } from "../../lib/constants.ts";
import { createOperators } from "../../lib/operators/index.ts";
import type { Caps } from "../../lib/operators/types.ts";

const role = () =>
  createOperators({} as Caps, {} as Context, {
    addresses: { myIp: () => undefined, getIps: () => [] },
  });
const MiB = 1024 * 1024;

describe("print", () => {
  test("small prints are kept whole, objects inspected", () => {
    const { operators, output } = role();
    operators.print("hello");
    operators.print({ a: 1 });
    expect(output).toEqual(["hello", "{\n  a: 1,\n}"]);
  });

  test("a 100 MB print keeps 1 MiB and one line saying how much was cut", () => {
    const { operators, output } = role();
    operators.print("start");
    operators.print("x".repeat(100 * MiB));
    operators.print("later lines are counted, not kept");
    expect(output.length).toBe(3);
    expect(Buffer.byteLength(output.join(""))).toBeLessThanOrEqual(limits.printOutputBytes + 200);
    expect(output[1]).toBe("x".repeat(limits.printOutputBytes - 5));
    expect(output[2]).toBe(
      `... print output cut at 1 MiB: ${100 * MiB - (limits.printOutputBytes - 5) + "later lines are counted, not kept".length} bytes more not shown`,
    );
  });

  test("many prints add up to the same cap; multi-byte text is counted in bytes", () => {
    const { operators, output } = role();
    for (let i = 0; i < 40; i++) operators.print("é".repeat(MiB / 8)); // 256 KiB each
    expect(Buffer.byteLength(output.slice(0, -1).join(""))).toBeLessThanOrEqual(
      limits.printOutputBytes,
    );
    expect(output.at(-1)).toMatch(/^\.\.\. print output cut at 1 MiB: \d+ bytes more not shown$/);
    expect(output.filter((l) => l.startsWith("... print output cut")).length).toBe(1);
  });
});
