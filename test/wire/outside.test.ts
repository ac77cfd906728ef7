// Hosts outside an apply's target as ids at their places, and back (lib/wire/outside.ts).
import { expect, test } from "bun:test";
import { slimOutside, withOutside } from "../../lib/wire/outside.ts";
import type { ApplyReport, HostReport } from "../../lib/wire/api.ts";

const outside = (id: string): HostReport => ({
  id,
  status: "skipped",
  elapsed: 0,
  errors: 0,
  changed: 0,
  roles: [],
});
const ran = (id: string): HostReport => ({
  id,
  status: "ran",
  elapsed: 0.01,
  errors: 0,
  changed: 1,
  roles: [{ role: "base", skipped: false, elapsed: 0.01, results: [], errors: 0, changed: 0 }],
});

test("outside hosts at the start, between, together and at the end come back at their places, byte for byte", () => {
  const report: ApplyReport = {
    hosts: [
      outside("a0"),
      ran("a1"),
      outside("a2"),
      outside("a3"),
      ran("a4"),
      { id: "m1", status: "missing", elapsed: 0, errors: 1, changed: 0, roles: [] },
      { ...outside("e1"), connectedTo: "m2" },
      outside("a5"),
    ],
    elapsed: 0.5,
    rc: 1,
  };
  const slim = slimOutside(report);
  expect(slim.hosts.map((h) => h.id)).toEqual(["a1", "a4", "m1", "e1"]);
  expect(slim.outside).toEqual({ at: [0, 2, 3, 7], ids: ["a0", "a2", "a3", "a5"] });
  expect(JSON.stringify(withOutside(slim), null, 2)).toBe(JSON.stringify(report, null, 2));
  // The master's report itself is left as it was (the job history keeps it whole).
  expect(report.hosts).toHaveLength(8);
});

test("nothing outside: the report itself; a reply without `outside` is taken as it is", () => {
  const report: ApplyReport = { hosts: [ran("a1")], elapsed: 0.1, rc: 0 };
  expect(slimOutside(report)).toBe(report);
  expect(withOutside(report)).toBe(report);
});

test("a reply whose places do not fit is refused, not printed wrong", () => {
  const bad = (outsideField: unknown) =>
    withOutside({ hosts: [ran("a1")], elapsed: 0, rc: 0, outside: outsideField } as ApplyReport);
  expect(() => bad({ at: [0, 0], ids: ["x", "y"] })).toThrow(/outside the target/);
  expect(() => bad({ at: [5], ids: ["x"] })).toThrow(/outside the target/);
  expect(() => bad({ at: [0], ids: [] })).toThrow(/outside the target/);
  expect(() => bad({ at: [1, 0], ids: ["x", "y"] })).toThrow(/outside the target/);
  expect(() => bad({ at: [0], ids: [7] })).toThrow(/outside the target/);
});
