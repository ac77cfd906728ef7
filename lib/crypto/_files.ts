// Small file writes for key material: a new file that must not replace one
// written concurrently (another process creating the same key), and an atomic
// replacement. Files are written with their final mode from the first byte.

import { randomBytes } from "node:crypto";
import { link, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

function tempName(path: string): string {
  return join(dirname(path), `.tmp-${randomBytes(6).toString("hex")}`);
}

/** Create `path` atomically; false if it already exists (nothing is changed then). */
export async function writeNew(path: string, data: string, mode: number): Promise<boolean> {
  const tmp = tempName(path);
  await writeFile(tmp, data, { mode, flag: "wx" });
  try {
    // link() fails with EEXIST instead of replacing: the first writer wins, whole.
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Write `path` atomically (temp file + rename), replacing any previous content. */
export async function writeReplace(path: string, data: string, mode: number): Promise<void> {
  const tmp = tempName(path);
  await writeFile(tmp, data, { mode, flag: "wx" });
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
