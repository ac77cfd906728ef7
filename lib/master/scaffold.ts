// `salty init DIR`: a new fileroot (hosts/, roles/, files/, an editor setup
// with types/salty.d.ts) and its keyroot (master key pair, crypto.pass).
// Never overwrites anything: an existing file is kept and reported as such.
// Secret files are 0600 and the keys directory 0700.

import { randomBytes } from "node:crypto";
import { chmod, mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { SaltyError } from "../errors.ts";
import { loadOrCreateIdentity } from "../crypto/keys.ts";
import { writeNew } from "../crypto/_files.ts";
import { PASSWORD_FILE } from "../crypto/secret-key.ts";
import { scaffoldFiles } from "./_scaffold-files.ts";
// @ts-expect-error -- a Bun text import (embedded in the compiled binary); tsc cannot type a .d.ts as text
import saltyTypes from "../../types/salty.d.ts" with { type: "text" };

export interface ScaffoldReport {
  /** Paths relative to DIR, in the order they were considered. */
  created: string[];
  kept: string[];
}

async function writeOnce(dir: string, rel: string, data: string, mode: number, report: ScaffoldReport): Promise<void> {
  const path = join(dir, rel);
  await mkdir(dirname(path), { recursive: true });
  (await writeNew(path, data, mode)) ? report.created.push(rel) : report.kept.push(rel);
}

async function ensureDir(dir: string, rel: string, mode: number, report: ScaffoldReport): Promise<void> {
  const path = join(dir, rel);
  const st = await stat(path).catch(() => undefined);
  if (st && !st.isDirectory()) throw new SaltyError(`${path} exists and is not a directory`, "E_INIT");
  if (st) return void report.kept.push(`${rel}/`);
  await mkdir(path, { recursive: true, mode });
  await chmod(path, mode); // mkdir's mode is filtered by the umask
  report.created.push(`${rel}/`);
}

export async function scaffold(dir: string): Promise<ScaffoldReport> {
  const report: ScaffoldReport = { created: [], kept: [] };
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new SaltyError(`${dir} exists and is not a directory`, "E_INIT");
  await mkdir(dir, { recursive: true });
  for (const sub of ["hosts", "roles", "files", "files/example"]) await ensureDir(dir, sub, 0o755, report);
  for (const [rel, text] of Object.entries(scaffoldFiles)) await writeOnce(dir, rel, text, 0o644, report);
  await writeOnce(dir, "types/salty.d.ts", saltyTypes as string, 0o644, report);
  await ensureDir(dir, "keys", 0o700, report);
  const master = await loadOrCreateIdentity(join(dir, "keys"), "master");
  (master.created ? report.created : report.kept).push("keys/master.key", "keys/master.pub");
  await writeOnce(dir, `keys/${PASSWORD_FILE}`, randomBytes(32).toString("hex") + "\n", 0o600, report);
  return report;
}
