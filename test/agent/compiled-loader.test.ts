// Roles load inside a `bun build --compile` binary too: a tiny program using
// the runner is compiled and run on a role that imports node:os and the
// salty types (with and without `import type`), one that throws, one with a
// syntax error and one with a refused import; its temp dir is left empty.

import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../_temp.ts";

const lib = resolve(import.meta.dir, "../../lib");

const program = `
import { runRole } from ${JSON.stringify(`${lib}/agent/runner.ts`)};
import { AgentCache } from ${JSON.stringify(`${lib}/operators/cache.ts`)};
import { createObserve } from ${JSON.stringify(`${lib}/sys/observe.ts`)};
import { realDisk } from ${JSON.stringify(`${lib}/sys/disk.ts`)};
import { realExec } from ${JSON.stringify(`${lib}/sys/exec.ts`)};
import { realProbe } from ${JSON.stringify(`${lib}/sys/probe.ts`)};
import { createRuntime } from ${JSON.stringify(`${lib}/sys/runtime.ts`)};
import { createUsers } from ${JSON.stringify(`${lib}/sys/users.ts`)};
const cache = new AgentCache();
const files = { fetch: async () => { throw new Error("no files"); }, scan: async () => [], read: async () => new Uint8Array() };
const caps = { observe: createObserve(cache.hashes), disk: realDisk, users: createUsers(), exec: realExec, probe: realProbe, runtime: createRuntime({ gcEveryBytes: 0 }), cache, files, dryRun: false, diff: false, pathPrefix: process.argv[2] };
const context = { id: "h", me: { env: "e", cluster: "c", roles: [], vars: {} }, role: "r", hosts: {}, bootstrap: false };
const out = [];
for (const source of JSON.parse(process.argv[3])) {
  const r = await runRole({ name: "r", source, filename: "roles/r.ts", context, caps });
  out.push({ rc: r.rc, output: r.output, errors: r.results.map((x) => x.error).filter(Boolean) });
}
console.log(JSON.stringify(out));
`;

const roles = [
  `import type { Role } from "salty";\nimport os from "node:os";\nexport default (async ({ makedirs, shell, print }) => {\n  await makedirs("/opt/x");\n  print((await shell("echo hi")).output + os.platform());\n}) satisfies Role;\n`,
  `export default async () => {\n\n  throw new Error("on line 3");\n};\n`,
  `export default async () => {\n  let = ;\n};\n`,
  `import { Role } from "salty";\nexport default (async ({ print }) => { print("typed"); }) satisfies Role;\n`,
  `import fs from "fs";\nexport default async () => { fs.existsSync("/"); };\n`,
];

test("the role runner works inside a compiled binary", async () => {
  using scratch = tempDir("salty-compiled-");
  const dir = scratch.path;
  writeFileSync(join(dir, "main.ts"), program);
  const build = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      join(dir, "main.ts"),
      "--outfile",
      join(dir, "runner"),
    ],
    { stderr: "pipe", stdout: "pipe" },
  );
  expect(build.stderr.toString()).toBe("");
  expect(build.exitCode).toBe(0);
  mkdirSync(join(dir, "tmp"));
  const env = { ...process.env, TMPDIR: join(dir, "tmp") };
  const run = Bun.spawnSync([join(dir, "runner"), join(dir, "prefix"), JSON.stringify(roles)], {
    cwd: "/",
    env,
    stderr: "pipe",
    stdout: "pipe",
  });
  expect(run.stderr.toString()).toBe("");
  expect(JSON.parse(run.stdout.toString())).toEqual([
    { rc: 0, output: `hi\n${process.platform}`, errors: [] },
    { rc: 1, errors: ["roles/r.ts:3: on line 3"] },
    { rc: 1, errors: ["roles/r.ts:2:9: syntax error: Unexpected ;"] },
    { rc: 0, output: "typed", errors: [] },
    {
      rc: 1,
      errors: [
        'roles/r.ts:1: imports "fs": only node:* built-ins may be imported at run time (write "node:fs" for a built-in)',
      ],
    },
  ]);
  expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  expect(Bun.spawnSync(["test", "-d", join(dir, "prefix/opt/x")]).exitCode).toBe(0);
}, 60_000);
