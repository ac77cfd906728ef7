// One runner for every captured-output case: test/facts/<parser>/<case>.json
// holds { input, expected } or { input, error } (a substring of the message).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  darwinInterfaces,
  detectInit,
  detectVirtual,
  pkgManagerFor,
  nodeInterfaces,
  parseMeminfo,
  parseOsIdentity,
  parseOsRelease,
  parseSwVers,
  type NodeNetEntry,
  type VirtualProbe,
} from "../../lib/facts/parse.ts";

type NodeInput = { nets: Record<string, NodeNetEntry[]>; bridges: string[] };

const parsers: Record<string, (input: never) => unknown> = {
  "os-release": (input: string) => parseOsRelease(input),
  "os-identity": (input: string) => parseOsIdentity(input),
  virtual: (input: VirtualProbe) => detectVirtual(input),
  meminfo: (input: string) => parseMeminfo(input),
  "sw-vers": (input: string) => parseSwVers(input),
  ifconfig: (input: string) => darwinInterfaces(input),
  "node-interfaces": (input: NodeInput) => nodeInterfaces(input.nets, input.bridges),
};

const dir = import.meta.dir;
const folders = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory());

test("every fixture folder has a parser (no case is silently skipped)", () => {
  expect(folders.sort()).toEqual(Object.keys(parsers).sort());
});

for (const folder of folders) {
  const cases = readdirSync(join(dir, folder)).filter((f) => f.endsWith(".json"));
  describe(folder, () => {
    test.each(cases)("%s", (file) => {
      const c = JSON.parse(readFileSync(join(dir, folder, file), "utf8")) as {
        input: never;
        expected?: unknown;
        error?: string;
      };
      const parse = parsers[folder]!;
      if (c.error !== undefined) expect(() => parse(c.input)).toThrow(c.error);
      else expect(parse(c.input)).toEqual(c.expected);
    });
  });
}

describe("pkgManagerFor and detectInit", () => {
  test.each([
    ["debian", "ubuntu", "24.04", "apt"],
    ["redhat", "rocky", "9.4", "dnf"],
    ["redhat", "centos", "7", "yum"],
    ["redhat", "fedora", "40", "dnf"],
    ["alpine", "alpine", "3.20.3", "apk"],
    ["darwin", "macos", "14.5", "brew"],
    ["arch", "arch", "", "pacman"],
    ["suse", "opensuse-leap", "15.6", "zypper"],
    ["void", "void", "", "none"],
  ])("%s (%s %s) uses %s", (family, id, version, expected) => {
    expect(pkgManagerFor(family, id, version)).toBe(expected);
  });

  test.each([
    ["Darwin", false, null, "launchd"],
    ["Linux", true, "systemd\n", "systemd"],
    ["Linux", false, "systemd\n", "systemd"],
    ["Linux", true, null, "systemd"],
    ["Linux", false, "sh\n", "none"],
    ["Linux", false, "init\n", "none"],
  ] as const)("%s, /run/systemd/system %p, PID 1 %p: %s", (kernel, run, pid1, expected) => {
    expect(detectInit(kernel, run, pid1)).toBe(expected);
  });
});
