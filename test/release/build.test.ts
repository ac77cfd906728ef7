// The executable as `npm run build` makes it (scripts/_compile.ts compile()
// with bytecode: ES module chunks, compiled twice, the second time with the
// bytecode laid out in the order the first executable's client commands used
// it): nothing but the executable is left beside it, and it works as a
// client (its stack traces name salty's files) and as master, agent and role
// worker (a bootstrap runs a role).

import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { compile } from "../../scripts/_compile.ts";
import { tempDirForFile } from "../_temp.ts";

const work = tempDirForFile("salty-build-");

describe("npm run build's executable (bytecode, its layout recorded from its own runs)", () => {
  let bin: string;
  beforeAll(async () => {
    bin = join(work, "out", "salty");
    const status = await compile({ outfile: bin, commit: "test", bytecode: true }, true);
    if (status !== 0) throw new Error(`build failed (${status})`);
  }, 120_000);

  test("only the executable is left in its directory", () => {
    expect(readdirSync(join(work, "out"))).toEqual(["salty"]);
  });

  test("a client command: its version, and a stack that names salty's files (-vv)", async () => {
    const version = Bun.spawnSync([bin, "version"]);
    expect(version.stdout.toString()).toMatch(/^salty \S+ \(test\) linux-/);
    const p = Bun.spawnSync([bin, "apply", "-vv", "--keyroot", join(work, "nowhere")], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(p.exitCode).toBe(1);
    expect(p.stderr.toString()).toMatch(
      /\n\s+at connectControl \(lib\/client\/connect\.ts:\d+:\d+\)\n/,
    );
  });

  test("master, agent and role worker: a bootstrap runs a role", () => {
    const fileroot = join(work, "fileroot");
    mkdirSync(join(fileroot, "hosts"), { recursive: true });
    mkdirSync(join(fileroot, "roles"), { recursive: true });
    writeFileSync(
      join(fileroot, "hosts/index.ts"),
      `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { h1: { env: "lab", roles: ["one"] } } } };\n`,
    );
    writeFileSync(
      join(fileroot, "roles/one.ts"),
      `export default async ({ print }) => {\n  print("ran");\n};\n`,
    );
    const p = Bun.spawnSync(
      [
        bin,
        "bootstrap",
        "--json",
        "--id",
        "h1",
        "--fileroot",
        fileroot,
        "--keyroot",
        join(fileroot, "keys"),
        "--path",
        join(fileroot, "sandbox"),
      ],
      { cwd: fileroot, env: { PATH: process.env.PATH ?? "" } },
    );
    expect(p.exitCode).toBe(0);
    const host = JSON.parse(p.stdout.toString()).hosts.find((h: { id: string }) => h.id === "h1");
    expect(host.roles.map((r: { role: string }) => r.role)).toEqual(["one"]);
  }, 60_000);
});

test("npm run build's way: `scripts/build.ts --out` a path relative to the repository, as its default dist/salty is", () => {
  const repo = join(import.meta.dir, "..", "..");
  const out = relative(repo, join(work, "relative", "salty"));
  expect(out.startsWith("/")).toBe(false);
  const build = Bun.spawnSync([process.execPath, "scripts/build.ts", "--out", out], {
    cwd: repo,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(build.stderr.toString()).not.toContain("ENOENT");
  expect(build.exitCode).toBe(0);
  expect(readdirSync(join(work, "relative"))).toEqual(["salty"]);
  const version = Bun.spawnSync([join(work, "relative", "salty"), "version"]);
  expect(version.stdout.toString()).toMatch(/^salty \S+ \(\S+\) linux-/);
}, 120_000);
