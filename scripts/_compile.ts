// How salty is compiled, shared by build.ts (this machine) and release.ts (every
// platform): one `bun build --compile` command line, the git commit it embeds,
// and the Bun runtime of another platform fetched from the npm registry when
// Bun cannot download it itself. Build-time only: never imported by cmd/ or lib/.

import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { $ } from "bun";
import { COLD_CODE_JIT_POLICY } from "../lib/jit-policy.ts";

export type CompileOptions = {
  outfile: string;
  commit: string;
  /** A `bun-<os>-<arch>` target; none compiles for this machine. */
  target?: string;
  minify?: boolean;
  bytecode?: boolean;
  /** A Bun executable of the target platform, instead of letting Bun download one. */
  executablePath?: string;
  /** Files a run of the executable wrote (BUN_BYTECODE_ORDER_OUT): its bytecode laid out in that order. */
  bytecodeOrder?: string[];
};

export const entry = "cmd/main.ts";
/** Worker threads are separate entrypoints of the same executable. */
export const workerEntries = ["lib/agent/role-worker.ts"];

/**
 * The short commit of HEAD, with "-dirty" when the sources that go into the
 * binary differ from it; "unknown" outside a git checkout.
 */
export async function gitCommit(): Promise<string> {
  const out = await $`git rev-parse --short HEAD`.quiet().nothrow();
  const commit = out.stdout.toString().trim();
  if (out.exitCode !== 0 || !commit) return "unknown";
  const clean = await $`git diff --quiet HEAD -- cmd lib types package.json`.quiet().nothrow();
  return clean.exitCode === 0 ? commit : `${commit}-dirty`;
}

/**
 * The arguments after `bun`. A daemon that runs as root from `/` must not pick
 * up a stray `.env` or `bunfig.toml` from its working directory, so the
 * executable's autoloading of both is switched off.
 */
export function compileArgs(o: CompileOptions): string[] {
  const args = [
    "build",
    "--compile",
    entry,
    ...workerEntries,
    "--outfile",
    o.outfile,
    `--define=SALTY_COMMIT=${JSON.stringify(o.commit)}`,
  ];
  // A source map embedded in the executable: a stack (-vv) names lib/x.ts:LINE, not /$bunfs/root/salty:62:5644
  // (about +0.6 MB, no start-up cost measured). Bun also writes it beside the output: compile() removes that copy.
  args.push("--sourcemap=linked", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig");
  // Most of salty's code runs a few times and never again (lib/jit-policy.ts); the master resets it.
  args.push(`--compile-jit-policy=${COLD_CODE_JIT_POLICY}`);
  // Identifiers are kept, so that a stack names salty's functions too (connectControl, not nl): +0.1 MB.
  if (o.minify ?? true) args.push("--minify-whitespace", "--minify-syntax");
  // ES modules split into chunks: each command (and what only it uses) is a chunk of its own, loaded,
  // with the node:* and bun:* builtins it imports, when the command runs (cmd/main.ts imports them
  // lazily), and shared code in chunks loaded by those that need it. A command starts with its own
  // code only: one bundle of everything (CommonJS: functions declared, modules run when first used)
  // cost every command ~2-3 ms of CPU to load, `salty version` 15.5 -> 12.5 ms (docs/performance.md).
  // Every chunk gets bytecode. import.meta.url is the build machine's path in the executable
  // (lib/agent/worker-executor.ts does without it).
  args.push("--format=esm", "--splitting");
  if (o.bytecode) args.push("--bytecode");
  if (o.bytecode && o.bytecodeOrder?.length)
    args.push(`--bytecode-order=${o.bytecodeOrder.join(",")}`);
  if (o.target) args.push(`--target=${o.target}`);
  if (o.executablePath) args.push(`--compile-executable-path=${o.executablePath}`);
  return args;
}

/**
 * Runs the compiler with this Bun; resolves to its exit status. Bun writes a source map beside the
 * executable for it and for every chunk (they are embedded in it already), so it compiles into a
 * directory of its own beside `outfile` and moves only the executable out of it. With bytecode, for
 * this machine: compiled twice, the second time with the bytecode laid out in the order the first
 * executable used it in the client commands that start most (orderRuns), so that a start touches
 * fewer pages of it (`salty version` ~0.6 ms of CPU and ~40 page faults fewer, docs/performance.md).
 */
export async function compile(o: CompileOptions, quiet = false): Promise<number> {
  const out = quiet ? "ignore" : "inherit";
  mkdirSync(dirname(o.outfile), { recursive: true });
  // Absolute: the bytecode order's runs (recordOrder) start the executable from inside this directory.
  const dir = mkdtempSync(join(resolve(dirname(o.outfile)), ".salty-build-"));
  const run = async (opts: CompileOptions) => {
    const proc = Bun.spawn([process.execPath, ...compileArgs(opts)], {
      stdout: out,
      stderr: "inherit",
    });
    return proc.exited;
  };
  try {
    const built = join(dir, basename(o.outfile));
    let status = await run({ ...o, outfile: built });
    if (status === 0 && o.bytecode && !o.target && !o.bytecodeOrder) {
      const order = recordOrder(built, dir);
      if (order.length) status = await run({ ...o, outfile: built, bytecodeOrder: order });
    }
    if (status === 0) renameSync(built, o.outfile);
    return status;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the order is recorded from, most important first: `salty version` (the start every command
 * shares) and client commands up to their connection, against a keyroot with no master (they fail
 * there, changing nothing). The reply's decoding is not among them: it needs a master.
 */
const orderRuns = [
  ["version"],
  ["apply", "--json"],
  ["apply"],
  ["run", "all", "--", "true"],
  ["ping"],
  ["hosts"],
];

/** The order files of `bin`'s runs (orderRuns) in `dir`; none when a run could not write one. */
function recordOrder(bin: string, dir: string): string[] {
  const files: string[] = [];
  orderRuns.forEach((words, i) => {
    const file = join(dir, `order-${i}`);
    const r = Bun.spawnSync([bin, ...words, ...(i ? ["--keyroot", join(dir, "no-keyroot")] : [])], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", BUN_BYTECODE_ORDER_OUT: file },
      stdout: "ignore",
      stderr: "ignore",
    });
    if (r.exitCode !== null && existsSync(file)) files.push(file);
  });
  return files;
}

/** `bun-linux-arm64` → `@oven/bun-linux-aarch64`, the npm package of that runtime. */
export function runtimePackage(target: string): string {
  return "@oven/" + target.replace(/arm64/, "aarch64");
}

/**
 * The Bun executable of `target` at this Bun's version, from the npm registry
 * through `npm pack` (so .npmrc, mirrors and proxies apply), cached in `cacheDir`.
 */
export async function runtimeFromNpm(target: string, cacheDir: string): Promise<string> {
  const dir = join(cacheDir, `${target}-v${Bun.version}`);
  const bin = join(dir, "package", "bin", "bun");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const spec = `${runtimePackage(target)}@${Bun.version}`;
  const packed = await $`npm pack ${spec} --pack-destination ${dir} --silent`.quiet().nothrow();
  const tgz = packed.stdout.toString().trim().split("\n").pop();
  if (packed.exitCode !== 0 || !tgz)
    throw new Error(`npm pack ${spec} failed: ${packed.stderr.toString().trim()}`);
  await $`tar -xzf ${join(dir, tgz)} -C ${dir} package/bin/bun`.quiet();
  rmSync(join(dir, tgz));
  return bin;
}
