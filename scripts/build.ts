// npm run build: dist/salty, a self-contained binary for this machine.
// `bun scripts/build.ts --target bun-linux-arm64 --out dist/salty-linux-arm64` cross-compiles;
// `npm run release` builds every platform (scripts/release.ts).

import { parseArgs } from "node:util";
import { compile, gitCommit } from "./_compile.ts";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    out: { type: "string", default: "dist/salty" },
    minify: { type: "boolean", default: true },
    "no-minify": { type: "boolean", default: false },
    // Bytecode: the client starts faster, for a bigger binary (docs/performance.md has both figures).
    bytecode: { type: "boolean", default: true },
    "no-bytecode": { type: "boolean", default: false },
  },
});

const minify = values.minify! && !values["no-minify"];
const bytecode = values.bytecode! && !values["no-bytecode"];
const options = {
  outfile: values.out!,
  commit: await gitCommit(),
  target: values.target,
  minify,
  bytecode,
};
process.exit(await compile(options));
