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
    bytecode: { type: "boolean", default: false },
  },
});

const minify = values.minify! && !values["no-minify"];
const options = { outfile: values.out!, commit: await gitCommit(), target: values.target, minify, bytecode: values.bytecode };
process.exit(await compile(options));
