// The local modules a role brings along: the .ts files under roles/lib/ that
// the role imports relatively, and those they import in turn. The master
// reads them with the role and sends them in the same role.run request; the
// agent checks them like the role (lib/sys/load-module.ts) and evaluates them
// once per content (its module cache is keyed by every file's hash). Only
// regular files whose real path is under the fileroot's roles/lib/ are read:
// a symlink out of it is not followed. What is not shipped (a missing file, a
// path outside roles/lib/) is named by the agent's check, with the role's line.

import { lstat, readFile, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { LOCAL_MODULES, resolveLocal } from "../sys/load-module.ts";

/** At most this many modules per role, and this many bytes in all: a fileroot that goes past it is a mistake. */
const MAX_MODULES = 200;
const MAX_BYTES = 4 << 20;

const transpiler = new Bun.Transpiler({ loader: "ts", target: "bun", trimUnusedImports: true });

/** Relative imports of `source` (a file at fileroot path `from`) that resolve under roles/lib/. */
function localImports(from: string, source: string): string[] {
  let js: string;
  try {
    js = transpiler.transformSync(source);
  } catch {
    return []; // a syntax error: the agent's check names it
  }
  return transpiler.scanImports(js).flatMap((imp) => {
    const path = resolveLocal(from, imp.path);
    return path?.startsWith(LOCAL_MODULES) && path.endsWith(".ts") ? [path] : [];
  });
}

/** The modules under roles/lib/ that the role at `filename` reaches, by fileroot path. */
export async function roleModules(
  fileroot: string,
  filename: string,
  source: string,
): Promise<Record<string, string> | undefined> {
  // Most roles import nothing relative: not even parsed then (this runs for every role of every apply).
  if (!/["'`]\.\.?\//.test(source)) return undefined;
  const out: Record<string, string> = {};
  let bytes = 0,
    count = 0;
  let libReal: string | undefined;
  const queue = localImports(filename, source);
  while (queue.length) {
    const path = queue.shift()!;
    if (path in out) continue;
    libReal ??= await realpath(join(fileroot, LOCAL_MODULES)).catch(() => "");
    if (!libReal) break;
    const full = join(fileroot, path);
    const st = await lstat(full).catch(() => undefined);
    if (!st?.isFile()) continue;
    const real = await realpath(full).catch(() => "");
    if (!real.startsWith(libReal + sep)) continue;
    const text = await readFile(full, "utf8");
    bytes += text.length;
    if (++count > MAX_MODULES || bytes > MAX_BYTES) break;
    out[path] = text;
    queue.push(...localImports(path, text));
  }
  return count ? out : undefined;
}
