// npm run release: dist/salty-linux-x64, dist/salty-linux-arm64,
// dist/salty-darwin-arm64 and dist/SHA256SUMS (the format `sha256sum -c` reads).
//
// Cross-compiling needs the Bun runtime of the other platform: Bun downloads it
// from the npm registry (@oven/bun-<os>-<arch>) into ~/.bun/install/cache on
// first use. When that fails (an npm mirror, a proxy), or with --runtime-from-npm,
// the runtime is fetched with `npm pack` and given to Bun with
// --compile-executable-path.
//
// Options: --only linux-arm64,... (a subset), --bytecode (bigger, starts faster),
// --no-minify, --out DIR.

import { parseArgs } from "node:util";
import { statSync, writeFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { hashFile } from "../lib/sys/hash.ts";
import { compile, gitCommit, runtimeFromNpm } from "./_compile.ts";

export const platforms = ["linux-x64", "linux-arm64", "darwin-arm64"] as const;

/**
 * Bun's default x64 runtime needs AVX2 and dies with "Illegal instruction" on
 * older CPUs and on VMs with a conservative CPU model; baseline (x86-64-v2) runs
 * everywhere, at the same size and start-up time.
 */
const bunTarget: Record<(typeof platforms)[number], string> = {
  "linux-x64": "bun-linux-x64-baseline",
  "linux-arm64": "bun-linux-arm64",
  "darwin-arm64": "bun-darwin-arm64",
};

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    out: { type: "string", default: "dist" },
    bytecode: { type: "boolean", default: false },
    "no-minify": { type: "boolean", default: false },
    "runtime-from-npm": { type: "boolean", default: false },
  },
});

const chosen = values.only ? values.only.split(",") : [...platforms];
const isPlatform = (p: string): p is (typeof platforms)[number] =>
  (platforms as readonly string[]).includes(p);
for (const p of chosen)
  if (!isPlatform(p)) throw new Error(`unknown platform ${p} (one of ${platforms.join(", ")})`);

const commit = await gitCommit();
const runtimeCache = join("node_modules", ".cache", "salty-runtimes");
mkdirSync(values.out!, { recursive: true });

async function build(platform: (typeof platforms)[number]): Promise<string> {
  const target = bunTarget[platform];
  const outfile = join(values.out!, `salty-${platform}`);
  const base = { outfile, commit, target, minify: !values["no-minify"], bytecode: values.bytecode };
  if (!values["runtime-from-npm"] && (await compile(base, true)) === 0) return outfile;
  if (!values["runtime-from-npm"])
    console.error(`release: Bun could not fetch the ${target} runtime; trying npm pack`);
  const executablePath = await runtimeFromNpm(target, runtimeCache);
  if ((await compile({ ...base, executablePath }, true)) !== 0)
    throw new Error(`compiling ${outfile} failed`);
  return outfile;
}

const started = performance.now();
const built: string[] = [];
for (const p of chosen.filter(isPlatform)) built.push(await build(p));

// SHA256SUMS always lists every release binary present in the output directory.
const lines: string[] = [];
for (const p of platforms) {
  const file = join(values.out!, `salty-${p}`);
  const size = statSync(file, { throwIfNoEntry: false })?.size;
  if (size === undefined) continue;
  lines.push(`${await hashFile(file)}  ${basename(file)}`);
  const mark = built.includes(file) ? "built" : "kept";
  console.log(`${basename(file).padEnd(20)} ${(size / 1e6).toFixed(1).padStart(6)} MB  ${mark}`);
}
writeFileSync(join(values.out!, "SHA256SUMS"), lines.join("\n") + "\n");
console.log(`commit ${commit}, ${((performance.now() - started) / 1000).toFixed(1)}s`);
