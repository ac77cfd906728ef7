// Roles load inside a `bun build --compile` binary too: a tiny program using
// the runner is compiled and run on a role that imports node:os and the
// salty types, one that throws and one with a syntax error.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const lib = resolve(import.meta.dir, "../../lib");

const program = `
import { ModuleLoader } from ${JSON.stringify(`${lib}/agent/load-module.ts`)};
import { runRole } from ${JSON.stringify(`${lib}/agent/runner.ts`)};
import { AgentCache } from ${JSON.stringify(`${lib}/operators/cache.ts`)};
import { createObserve } from ${JSON.stringify(`${lib}/sys/observe.ts`)};
import { realDisk } from ${JSON.stringify(`${lib}/sys/disk.ts`)};
import { realExec } from ${JSON.stringify(`${lib}/sys/exec.ts`)};
import { createUsers } from ${JSON.stringify(`${lib}/sys/users.ts`)};
const cache = new AgentCache();
const files = { fetch: async () => { throw new Error("no files"); }, scan: async () => [], read: async () => new Uint8Array() };
const caps = { observe: createObserve(cache.stats), disk: realDisk, users: createUsers(), exec: realExec, cache, files, dryRun: false, diff: false, pathPrefix: process.argv[2] };
const loader = new ModuleLoader();
const context = { id: "h", me: { env: "e", cluster: "c", roles: [], vars: {} }, role: "r", hosts: {}, bootstrap: false };
const out = [];
for (const source of JSON.parse(process.argv[3])) {
  const r = await runRole({ name: "r", source, filename: "roles/r.ts", context, caps, loader });
  out.push({ rc: r.rc, output: r.output, errors: r.results.map((x) => x.error).filter(Boolean) });
}
console.log(JSON.stringify(out));
`;

const roles = [
  `import type { Role } from "salty";\nimport os from "node:os";\nexport default (async ({ makedirs, shell, print }) => {\n  await makedirs("/opt/x");\n  print((await shell("echo hi")).output + os.platform());\n}) satisfies Role;\n`,
  `export default async () => {\n\n  throw new Error("on line 3");\n};\n`,
  `export default async () => {\n  let = ;\n};\n`,
];

test("the role runner works inside a compiled binary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "salty-compiled-"));
  try {
    writeFileSync(join(dir, "main.ts"), program);
    const build = Bun.spawnSync([process.execPath, "build", "--compile", join(dir, "main.ts"), "--outfile", join(dir, "runner")], { stderr: "pipe", stdout: "pipe" });
    expect(build.stderr.toString()).toBe("");
    expect(build.exitCode).toBe(0);
    const run = Bun.spawnSync([join(dir, "runner"), join(dir, "prefix"), JSON.stringify(roles)], { cwd: "/", stderr: "pipe", stdout: "pipe" });
    expect(run.stderr.toString()).toBe("");
    expect(JSON.parse(run.stdout.toString())).toEqual([
      { rc: 0, output: `hi\n${process.platform}`, errors: [] },
      { rc: 1, errors: ["roles/r.ts:3: on line 3"] },
      { rc: 1, errors: ["roles/r.ts:2: syntax error: Unexpected ;"] },
    ]);
    expect(Bun.spawnSync(["test", "-d", join(dir, "prefix/opt/x")]).exitCode).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
