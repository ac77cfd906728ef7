import { describe, expect, test } from "bun:test";
import { checkMasterAddress, passThrough, selfArgv, type ArgDefs } from "../../lib/service/argv.ts";

describe("selfArgv", () => {
  test("a compiled salty runs itself", () => {
    expect(selfArgv("/usr/local/bin/salty", "/$bunfs/root/salty-linux-x64")).toEqual({
      argv: ["/usr/local/bin/salty"],
      fromSource: false,
    });
  });

  test("from source, Bun runs the entry file of the checkout, and says so", () => {
    expect(selfArgv("/usr/bin/bun", "/src/salty/cmd/main.ts")).toEqual({
      argv: ["/usr/bin/bun", "/src/salty/cmd/main.ts"],
      fromSource: true,
    });
  });
});

describe("checkMasterAddress", () => {
  test.each([
    "salt.example.com",
    "salt.example.com:11111",
    "10.0.0.1:1",
    "[::1]:65535",
    "[fe80::1]",
    "my-master",
  ])("accepts %s", (addr) => {
    expect(checkMasterAddress(addr)).toBe(addr);
  });

  test.each([
    undefined,
    "",
    "a b",
    "host:0",
    "host:65536",
    "host:port",
    "::1",
    "http://salt:11111",
    "host:11111/x",
  ])("refuses %p", (addr) => {
    expect(() => checkMasterAddress(addr)).toThrow("MASTER[:PORT]");
  });
});

describe("passThrough", () => {
  const defs: ArgDefs = {
    master: { type: "positional" },
    id: { type: "string" },
    keyroot: { type: "string", default: "/etc/salty" },
    fileroot: { type: "string", default: "." },
    bind: { type: "string", default: "0.0.0.0:11111" },
    "auto-accept": { type: "boolean" },
    print: { type: "boolean" },
    root: { type: "string" },
  };
  const base = { defs, dirs: ["keyroot", "fileroot"], skip: ["print", "root"], cwd: "/srv/salt" };

  test("positionals first; directories always written and absolute; defaults left out", () => {
    const parsed = { master: "m:1", keyroot: "/etc/salty", fileroot: ".", bind: "0.0.0.0:11111" };
    expect(passThrough({ ...base, parsed })).toEqual([
      "m:1",
      "--keyroot",
      "/etc/salty",
      "--fileroot",
      "/srv/salt",
    ]);
  });

  test("given options and true flags pass through; false flags and the installer's own options do not", () => {
    const parsed = {
      id: "web 1",
      keyroot: "keys",
      bind: "127.0.0.1:2",
      "auto-accept": true,
      print: true,
      root: "/tmp/r",
    };
    expect(passThrough({ ...base, parsed })).toEqual([
      "--id",
      "web 1",
      "--keyroot",
      "/srv/salt/keys",
      "--bind",
      "127.0.0.1:2",
      "--auto-accept",
    ]);
    expect(passThrough({ ...base, parsed: { "auto-accept": false } })).toEqual([]);
  });

  test("a flag that is on by default is written only when turned off (--no-NAME); at its default it is left out", () => {
    const on: ArgDefs = { ...defs, "remote-exec": { type: "boolean", default: true } };
    expect(passThrough({ ...base, defs: on, parsed: { "remote-exec": true } })).toEqual([]);
    expect(passThrough({ ...base, defs: on, parsed: { "remote-exec": false } })).toEqual([
      "--no-remote-exec",
    ]);
  });
});
