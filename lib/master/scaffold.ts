// `salty init DIR`: a new fileroot (hosts/, roles/, files/, an editor setup
// with types/salty.d.ts) and its keyroot (master key pair, crypto.pass), in an
// empty or new directory only: in an existing fileroot it refuses, so a file
// the user deleted (the example role) never comes back and a missing
// crypto.pass is never replaced by a new random one that opens no secret.
// Never overwrites anything (a .gitignore already there is kept). Secret
// files are 0600 and the keys directory 0700. `salty init --types DIR`
// (refreshTypes) rewrites types/salty.d.ts alone.

import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SaltyError } from "../errors.ts";
import { loadOrCreateIdentity } from "../crypto/keys.ts";
import { writeNew, writeReplace } from "../crypto/_files.ts";
import { PASSWORD_FILE } from "../crypto/secret-key.ts";
import { scaffoldFiles } from "./_scaffold-files.ts";
// @ts-expect-error -- a Bun text import (embedded in the compiled binary); tsc cannot type a .d.ts as text
import saltyTypes from "../../types/salty.d.ts" with { type: "text" };

export interface ScaffoldReport {
  /** Paths relative to DIR, in the order they were considered. */
  created: string[];
  kept: string[];
}

async function writeOnce(
  dir: string,
  rel: string,
  data: string,
  mode: number,
  report: ScaffoldReport,
): Promise<void> {
  const path = join(dir, rel);
  await mkdir(dirname(path), { recursive: true });
  (await writeNew(path, data, mode)) ? report.created.push(rel) : report.kept.push(rel);
}

async function ensureDir(
  dir: string,
  rel: string,
  mode: number,
  report: ScaffoldReport,
): Promise<void> {
  const path = join(dir, rel);
  const st = await stat(path).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new SaltyError(`${path} exists and is not a directory`, "E_INIT");
  if (st) return void report.kept.push(`${rel}/`);
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode); // mkdir's mode is filtered by the umask
  report.created.push(`${rel}/`);
}

/** What makes a directory a fileroot already, as named in the refusal. */
const FILEROOT_PARTS = ["hosts", "roles", "files", "tsconfig.json", "types", "keys"];

async function existingParts(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of FILEROOT_PARTS) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st) found.push(st.isDirectory() ? `${name}/` : name);
  }
  return found;
}

export async function scaffold(dir: string): Promise<ScaffoldReport> {
  const report: ScaffoldReport = { created: [], kept: [] };
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new SaltyError(`${dir} exists and is not a directory`, "E_INIT");
  const parts = st ? await existingParts(dir) : [];
  if (parts.length) {
    throw new SaltyError(
      `${dir} is already a fileroot (it has ${parts.join(", ")}): salty init makes a new one in an empty or new directory; \`salty init --types ${dir}\` refreshes types/salty.d.ts`,
      "E_INIT",
    );
  }
  await mkdir(dir, { recursive: true });
  for (const sub of ["hosts", "roles", "files", "files/example"])
    await ensureDir(dir, sub, 0o755, report);
  for (const [rel, text] of Object.entries(scaffoldFiles))
    await writeOnce(dir, rel, text, 0o644, report);
  await writeOnce(dir, "types/salty.d.ts", saltyTypes as string, 0o644, report);
  await ensureDir(dir, "keys", 0o700, report);
  const master = await loadOrCreateIdentity(join(dir, "keys"), "master");
  (master.created ? report.created : report.kept).push("keys/master.key", "keys/master.pub");
  await writeOnce(
    dir,
    `keys/${PASSWORD_FILE}`,
    randomBytes(32).toString("hex") + "\n",
    0o600,
    report,
  );
  return report;
}

/** `salty init --types DIR`: types/salty.d.ts of this version, and nothing else. */
export async function refreshTypes(dir: string): Promise<"created" | "updated" | "unchanged"> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new SaltyError(`${dir} does not exist`, "E_INIT");
  if (!st.isDirectory()) throw new SaltyError(`${dir} exists and is not a directory`, "E_INIT");
  const path = join(dir, "types", "salty.d.ts");
  const old = await readFile(path, "utf8").catch(() => undefined);
  if (old === saltyTypes) return "unchanged";
  await mkdir(dirname(path), { recursive: true });
  await writeReplace(path, saltyTypes as string, 0o644);
  return old === undefined ? "created" : "updated";
}
