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
    scope,
  });
  const told: number[] = [];
  await wait(req, (n) => told.push(n));
  expect(asked).toBe(false);
  expect(told).toEqual([]);
});
