// The process runtime: temporary names held by overlapping writes are distinct
// and come back when released; received bytes trigger a collection every
// gcEveryBytes (never with 0).
import { expect, test } from "bun:test";
import { createRuntime } from "../../lib/sys/runtime.ts";

test("a held name gets a numbered variant while held; released, it is free again", () => {
  const rt = createRuntime({ gcEveryBytes: 0 });
  const a = rt.holdName("/d/.f.salty-tmp");
  const b = rt.holdName("/d/.f.salty-tmp");
  expect(a).toBe("/d/.f.salty-tmp");
  expect(b).not.toBe(a);
  expect(b.startsWith("/d/.f.salty-tmp-")).toBe(true);
  rt.releaseName(a);
  expect(rt.holdName("/d/.f.salty-tmp")).toBe(a);
});

test.each([
  [100, [60, 30, 20, 90, 10], 2],
  [0, [1e9, 1e9], 0],
])("every %p bytes received: %p collect %p times", (every, chunks, times) => {
  let collected = 0;
  const rt = createRuntime({ gcEveryBytes: every, collect: () => collected++ });
  for (const n of chunks) rt.received(n);
  expect(collected).toBe(times);
});
