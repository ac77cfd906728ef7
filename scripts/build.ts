// npm run build: dist/salty, a self-contained binary for this machine.
// `bun scripts/build.ts --target bun-linux-arm64 --out dist/salty-linux-arm64` cross-compiles.

import { parseArgs } from "node:util";
import { $ } from "bun";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    out: { type: "string", default: "dist/salty" },
    minify: { type: "boolean", default: true },
  },
});

const commit = (await $`git rev-parse --short HEAD`.quiet().nothrow()).stdout.toString().trim() || "unknown";
const args = ["build", "--compile", "cmd/main.ts", "--outfile", values.out!, `--define=SALTY_COMMIT=${JSON.stringify(commit)}`];
if (values.minify) args.push("--minify");
if (values.target) args.push(`--target=${values.target}`);
const proc = Bun.spawn([process.execPath, ...args], { stdout: "inherit", stderr: "inherit" });
process.exit(await proc.exited);
