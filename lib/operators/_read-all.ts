// A whole fileroot file pulled in chunks (a source too big to come inline).
// For templates only: they end up in memory anyway.

import { limits } from "../constants.ts";
import { SaltyError } from "../errors.ts";
import type { FileSource } from "./file-source.ts";

export async function readAll(files: FileSource, path: string, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; ) {
    const chunk = await files.read(path, off, Math.min(limits.chunkBytes, size - off));
    if (chunk.length === 0)
      throw new SaltyError(`${path} shrank on the master during the transfer`, "E_CHANGED");
    out.set(chunk.subarray(0, size - off), off);
    off += chunk.length;
  }
  return out;
}
