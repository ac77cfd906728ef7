// The agent's copy of the master's last scan of each syncdir source, by
// digest: an unchanged source tree comes back as its digest alone, so a
// no-change syncdir neither receives nor decodes thousands of entries again.
// Kept for the role worker's life; it holds what the master sent and nothing else.

import { BoundedMap } from "../operators/cache.ts";
import type { TreeEntry } from "../sys/types.ts";
import type { FileProtocol } from "../wire/file-methods.ts";

export class ScanCache {
  private readonly scans = new BoundedMap<string, { digest: string; entries: TreeEntry[] }>(256);

  /** A scan of `dir` through scanSince: the held entries when the master's digest still matches. */
  async scan(files: Pick<FileProtocol, "scan" | "scanSince">, dir: string): Promise<TreeEntry[]> {
    const held = this.scans.get(dir);
    const reply = await files.scanSince(dir, held?.digest ?? "");
    if (Array.isArray(reply?.entries)) {
      this.scans.set(dir, { digest: reply.digest, entries: reply.entries });
      return reply.entries;
    }
    if (held && reply?.digest === held.digest) return held.entries;
    return files.scan(dir); // a reply we cannot use: ask the plain way
  }
}
