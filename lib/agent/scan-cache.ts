// The agent's copy of the master's last scan of each syncdir source, by
// digest: an unchanged source tree comes back as its digest alone, so a
// no-change syncdir neither receives nor decodes thousands of entries again.
// Kept per connection; it holds what the master sent and nothing else.

import { BoundedMap } from "../operators/cache.ts";
import type { FileSource, TreeEntry } from "../operators/file-source.ts";

export class ScanCache {
  private readonly scans = new BoundedMap<string, { digest: string; entries: TreeEntry[] }>(256);

  /** `files` with scan() answered through scanSince() and this cache, when the source offers it. */
  wrap(files: FileSource): FileSource {
    if (!files.scanSince) return files;
    return { ...files, scan: (dir) => this.scan(files, dir) };
  }

  private async scan(files: FileSource, dir: string): Promise<TreeEntry[]> {
    const held = this.scans.get(dir);
    const reply = await files.scanSince!(dir, held?.digest ?? "");
    if (Array.isArray(reply?.entries)) {
      this.scans.set(dir, { digest: reply.digest, entries: reply.entries });
      return reply.entries;
    }
    if (held && reply?.digest === held.digest) return held.entries;
    return files.scan(dir); // a reply we cannot use: ask the plain way
  }
}
