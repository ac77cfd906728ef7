// Where a client command (apply, hosts, meta, keys, crypto) finds the keyroot,
// whatever the working directory: --keyroot, else $SALTY_KEYROOT, else ./keys,
// else the keys/ of the nearest enclosing fileroot (a directory holding
// hosts/index.ts and keys/, found as git finds .git), else /etc/salty. Reads
// only directory entries; never creates anything.

import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const SYSTEM_KEYROOT = "/etc/salty";

export interface KeyrootChoice {
  /** The keyroot to use. */
  dir: string;
  /** Every place looked at, in order, ending with the one chosen, for error messages. */
  searched: string[];
  /** The fileroot whose keys/ was found above the working directory (`salty meta` reads its inventory). */
  fileroot?: string;
}

const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** The nearest of `start` and its parents holding hosts/index.ts and keys/. */
function enclosingFileroot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isFile(join(dir, "hosts", "index.ts")) && isDir(join(dir, "keys"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

export function findKeyroot(
  given: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): KeyrootChoice {
  if (given) return { dir: given, searched: [`--keyroot ${given}`] };
  const searched = ["--keyroot (not given)"];
  if (env.SALTY_KEYROOT)
    return {
      dir: env.SALTY_KEYROOT,
      searched: [...searched, `$SALTY_KEYROOT=${env.SALTY_KEYROOT}`],
    };
  searched.push("$SALTY_KEYROOT (not set)");
  if (isDir(join(cwd, "keys"))) return { dir: "keys", searched: [...searched, "./keys"] };
  searched.push("./keys (none)");
  const fileroot = enclosingFileroot(cwd);
  if (fileroot)
    return {
      dir: join(fileroot, "keys"),
      searched: [...searched, `${join(fileroot, "keys")} (the fileroot above ${resolve(cwd)})`],
      fileroot,
    };
  searched.push(`hosts/index.ts with keys/ in ${resolve(cwd)} or a parent (none)`);
  return { dir: SYSTEM_KEYROOT, searched: [...searched, SYSTEM_KEYROOT] };
}

/** The end of an error about a keyroot that was searched for: every place looked at; "" when it was given. */
export function lookedNote(searched: string[] | undefined): string {
  return searched && searched.length > 1
    ? `; looked for the keyroot at: ${searched.join(", ")}`
    : "";
}
