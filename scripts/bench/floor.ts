// The floor a no-change apply cannot beat, as its own process: lstat every
// entry below a directory (readdir + lstat, what a cached no-change run must
// do at least), and with --hash also read and SHA-256 every regular file (the
// uncached floor). Compiled like salty (bun build --compile) so that the
// whole-process figure has the same start-up cost. Prints the in-process
// seconds and the counts as JSON. Bench-only.

import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const [dir, mode] = process.argv.slice(2);
if (!dir) {
  process.stderr.write("usage: floor DIR [--hash]\n");
  process.exit(2);
}

const t0 = performance.now();
let entries = 0;
let bytes = 0;
const walk = (abs: string) => {
  for (const name of readdirSync(abs)) {
    const p = join(abs, name);
    const st = lstatSync(p);
    entries++;
    if (st.isDirectory()) walk(p);
    else if (mode === "--hash" && st.isFile()) {
      const data = readFileSync(p);
      bytes += data.length;
      new Bun.CryptoHasher("sha256").update(data).digest("hex");
    }
  }
};
walk(dir);
process.stdout.write(
  JSON.stringify({ seconds: (performance.now() - t0) / 1000, entries, bytes }) + "\n",
);
