// The release binaries in dist/ (built by `npm run release`; `npm run
// test:release` builds then runs this file). linux-x64 runs natively,
// linux-arm64 under qemu user emulation, darwin-arm64 is checked header-deep.
// Not part of `npm test`: it needs the release build and qemu.

import { beforeAll, describe, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import * as t from "./_tools.ts";
import { tempDirForFile } from "../_temp.ts";

const dist = resolve(import.meta.dir, "../../dist");
const bin = (platform: string) => join(dist, `salty-${platform}`);
const versionLine = (platform: string) =>
  new RegExp(
    `^salty ${pkg.version.replace(/\./g, "\\.")} \\(([0-9a-f]{7,})(?:-dirty)?\\) ${platform}\\n$`,
  );

let qemu = "";
let sysroot = "";
const work = tempDirForFile("salty-release-");

beforeAll(async () => {
  for (const p of ["linux-x64", "linux-arm64", "darwin-arm64"]) {
    if (!existsSync(bin(p)))
      throw new Error(
        `${bin(p)} is missing: run npm run release first (npm run test:release does)`,
      );
  }
  qemu = await t.ensureTool("qemu-aarch64-static", "qemu-user-static");
  sysroot = await t.ensureArm64Sysroot(
    resolve(import.meta.dir, "../../node_modules/.cache/salty-qemu-arm64"),
  );
}, 300_000);

function head(file: string): Buffer {
  const buf = Buffer.alloc(64 * 1024);
  const fd = openSync(file, "r");
  try {
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

describe("the release", () => {
  test("SHA256SUMS lists the three binaries and matches them", async () => {
    const sums = readFileSync(join(dist, "SHA256SUMS"), "utf8");
    expect(
      sums
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("  ")[1]),
    ).toEqual(["salty-linux-x64", "salty-linux-arm64", "salty-darwin-arm64"]);
    const r = await t.sh(["sha256sum", "-c", "SHA256SUMS"], { cwd: dist });
    expect(r.stdout).toBe("salty-linux-x64: OK\nsalty-linux-arm64: OK\nsalty-darwin-arm64: OK\n");
    expect(r.code).toBe(0);
  });

  test.each([
    ["linux-x64", 0x3e],
    ["linux-arm64", 0xb7],
  ])("%s is a 64-bit ELF executable for its machine", (platform, machine) => {
    expect(t.readElf(head(bin(platform)))).toEqual({ magic: "\x7fELF", elfClass: 2, machine });
  });

  test("darwin-arm64 is a signed Mach-O arm64 executable carrying the same build as linux-x64", async () => {
    const m = t.readMachO(head(bin("darwin-arm64")));
    expect({ magic: m.magic, cputype: m.cputype, filetype: m.filetype }).toEqual({
      magic: t.MH_MAGIC_64,
      cputype: t.CPU_TYPE_ARM64,
      filetype: t.MH_EXECUTE,
    });
    expect(m.segments).toContain("__BUN");
    expect(m.commands).toContain(t.LC_MAIN);
    expect(m.commands).toContain(t.LC_CODE_SIGNATURE);
    const commit = versionLine("linux-x64").exec(
      (await t.sh([bin("linux-x64"), "version"])).stdout,
    )?.[1];
    expect(commit).toBeDefined();
    expect(readFileSync(bin("darwin-arm64")).includes(Buffer.from(commit!))).toBe(true);
  });

  test("linux-x64: version names the platform, the package version and a commit of this repository", async () => {
    const r = await t.sh([bin("linux-x64"), "version"]);
    expect(r.stdout).toMatch(versionLine("linux-x64"));
    expect(r.code).toBe(0);
    const commit = versionLine("linux-x64").exec(r.stdout)![1]!;
    expect((await t.sh(["git", "cat-file", "-e", `${commit}^{commit}`], { cwd: dist })).code).toBe(
      0,
    );
  });
});

describe("linux-arm64 under qemu", () => {
  const arm = (...args: string[]) =>
    t.sh([qemu, "-L", sysroot, bin("linux-arm64"), ...args], { cwd: work });

  test("version", async () => {
    const r = await arm("version");
    expect(r.stdout).toMatch(versionLine("linux-arm64"));
    expect(r.code).toBe(0);
  });

  test("facts", async () => {
    const r = await arm("facts");
    expect(r.code).toBe(0);
    const facts = JSON.parse(r.stdout);
    expect(facts.kernel).toBe("Linux");
    // As uname -m says (Bun's own os.machine() says arm64; gather.ts maps it).
    expect(facts.machine).toBe("aarch64");
    expect(facts.cpu_count).toBeGreaterThan(0);
    expect(facts.networking.interfaces.some((i: { is_loopback: boolean }) => i.is_loopback)).toBe(
      true,
    );
  });

  test("bootstrap of a small role writes its files", async () => {
    const fileroot = join(work, "site");
    const prefix = join(work, "prefix");
    writeTree(fileroot, {
      "hosts/index.ts": `export default { envs: { lab: {} }, hosts: { lab: { "arm.test": { env: "lab", roles: ["hello"] } } } };\n`,
      "roles/hello.ts": [
        `import type { Role } from "salty";`,
        `export default (async ({ makedirs, render, lineInFile, me }) => {`,
        `  await makedirs("/etc/hello");`,
        `  await render("hello/hello.conf", "/etc/hello/hello.conf");`,
        `  await lineInFile("machine=" + me.facts.machine, "/etc/hello/machine");`,
        `}) satisfies Role;`,
        ``,
      ].join("\n"),
      "files/hello/hello.conf":
        "id=<%= id %> bootstrap=<%= bootstrap %> kernel=<%= me.facts.kernel %>\n",
    });
    const r = await arm(
      "bootstrap",
      "--id",
      "arm.test",
      "--path",
      prefix,
      "--fileroot",
      fileroot,
      "--keyroot",
      join(work, "keys"),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("host:arm.test ");
    expect(r.stdout).toContain("errors:0");
    expect(r.code).toBe(0);
    expect(readFileSync(join(prefix, "etc/hello/hello.conf"), "utf8")).toBe(
      "id=arm.test bootstrap=true kernel=Linux\n",
    );
    expect(["machine=aarch64\n", "machine=arm64\n"]).toContain(
      readFileSync(join(prefix, "etc/hello/machine"), "utf8"),
    );
  });
});

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
}
