// The live gatherer on this machine: a well-formed Facts object, no process left behind.
import { describe, expect, test } from "bun:test";
import os from "node:os";
import { gatherFacts, unameMachine } from "../../lib/facts/gather.ts";

test("gatherFacts returns well-formed facts of this host", async () => {
  const facts = await gatherFacts();
  expect(Object.keys(facts)).toEqual([
    "kernel",
    "machine",
    "os",
    "cpu_count",
    "mem_gb",
    "hostname",
    "networking",
    "pkg_manager",
    "init",
    "virtual",
  ]);
  expect(Object.keys(facts.os)).toEqual([
    "name",
    "version",
    "family",
    "id",
    "version_id",
    "codename",
  ]);
  expect(["container", "vm", "none"]).toContain(facts.virtual!);
  expect(["systemd", "launchd", "none"]).toContain(facts.init!);
  expect(facts.kernel).toBe(os.type() as "Linux" | "Darwin");
  expect(facts.hostname).toBe(os.hostname());
  expect(facts.machine).toBe(unameMachine(os.machine(), os.type()));
  expect(facts.os.name.length).toBeGreaterThan(0);
  expect(typeof facts.os.version).toBe("string");
  expect(Number.isInteger(facts.cpu_count) && facts.cpu_count >= 1).toBe(true);
  expect(facts.mem_gb).toBeGreaterThan(0);
  expect(facts.mem_gb).toBeCloseTo(os.totalmem() / 2 ** 30, 0);
  const ifaces = facts.networking.interfaces;
  expect(ifaces.some((i) => i.is_loopback && i.ipv4 === "127.0.0.1")).toBe(true);
  for (const i of ifaces) {
    expect(i.device.length).toBeGreaterThan(0);
    expect(i.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(i.ipv4).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(i.ipv4_network).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    for (const k of ["is_private", "is_public", "is_loopback", "is_bridge"] as const)
      expect(typeof i[k]).toBe("boolean");
    expect(i.is_private && i.is_public).toBe(false);
  }
  expect(JSON.parse(JSON.stringify(facts))).toEqual(facts);
});

describe("unameMachine", () => {
  test.each([
    ["arm64", "Linux", "aarch64"],
    ["x86_64", "Linux", "x86_64"],
    ["arm64", "Darwin", "arm64"],
  ])("%s on %s is %s, as uname -m says", (machine, kernel, expected) => {
    expect(unameMachine(machine, kernel)).toBe(expected);
  });
});
