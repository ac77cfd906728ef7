import { afterEach, expect, test } from "bun:test";
import { timing } from "../../lib/constants.ts";
import { startupWait } from "../../lib/master/startup-wait.ts";
import type { ApplyScope } from "../../lib/master/scheduler.ts";

const saved = timing.startupWaitMs;
afterEach(() => {
  timing.startupWaitMs = saved;
});

const req = { args: [], dryRun: false, diff: false };
/** An inventory of a and b: a scope runs each that is connected. */
const scope = async (_req: unknown, connected: string[]): Promise<ApplyScope> => ({
  hosts: ["a", "b"].map((id) => ({
    id,
    status: connected.includes(id) ? "run" : "missing",
    roles: [],
  })),
  context: () => {
    throw new Error("not used");
  },
});

test("within the window: waits for the known agents the apply covers, says how many, and no longer than they take", async () => {
  timing.startupWaitMs = 10_000;
  const connected = new Set<string>();
  const told: Array<[number, number]> = [];
  const wait = startupWait({
    startedAt: performance.now(),
    knownAgents: async () => ["a", "b", "stranger"],
    connectedIds: () => [...connected],
    isConnected: (id) => connected.has(id),
    scope,
  });
  const done = wait(req, (n, ms) => told.push([n, ms]));
  await Bun.sleep(30);
  connected.add("a");
  connected.add("b");
  await done; // resolves once a and b are back; "stranger" (no inventory host) is not waited for
  expect(told.length).toBe(1);
  expect(told[0]![0]).toBe(2);
  expect(told[0]![1]).toBeLessThanOrEqual(10_000);
});

test("the wait ends with the window, whoever is still away", async () => {
  timing.startupWaitMs = 150;
  const wait = startupWait({
    startedAt: performance.now(),
    knownAgents: async () => ["a"],
    connectedIds: () => [],
    isConnected: () => false,
    scope,
  });
  const told: number[] = [];
  await wait(req, (n) => told.push(n));
  expect(told).toEqual([1]);
});

test("after the window: nothing is read and nothing said", async () => {
  timing.startupWaitMs = 0;
  let asked = false;
  const wait = startupWait({
    startedAt: performance.now(),
    knownAgents: async () => ((asked = true), ["a"]),
    connectedIds: () => [],
    isConnected: () => false,
    scope,
  });
  const told: number[] = [];
  await wait(req, (n) => told.push(n));
  expect(asked).toBe(false);
  expect(told).toEqual([]);
});

test("waiting for many agents asks for each one's presence, never for the whole list per agent (was O(n²))", async () => {
  timing.startupWaitMs = 10_000;
  const ids = Array.from({ length: 2_000 }, (_, i) => `h${i}`);
  const connected = new Set<string>();
  let lists = 0;
  let asked = 0;
  const wait = startupWait({
    startedAt: performance.now(),
    knownAgents: async () => ids,
    connectedIds: () => (lists++, [...connected]),
    isConnected: (id) => (asked++, connected.has(id)),
    scope: async (_req, conn) => ({
      hosts: ids.map((id) => ({ id, status: conn.includes(id) ? "run" : "missing", roles: [] })),
      context: () => {
        throw new Error("not used");
      },
    }),
  });
  const told: number[] = [];
  const done = wait(req, (n) => told.push(n));
  await Bun.sleep(120); // a few polls with all away
  for (const id of ids.slice(0, 1_999)) connected.add(id);
  await Bun.sleep(120); // a few polls with one away
  connected.add("h1999");
  await done;
  expect(told).toEqual([2_000]);
  expect(lists).toBe(1); // the connected list once, for the scope; before: once per awaited agent per poll
  // Each poll asks only for the agents still away: a few polls of 2,000, then of 1.
  expect(asked).toBeLessThan(2_000 * 10);
});
