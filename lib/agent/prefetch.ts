// Batched file hashes for role runs: when a role starts, the fileroot paths it
// fetched on its previous run are asked for in one request, so that each copy
// or render whose destination (or cached template) already holds that content
// is decided without a round trip of its own. A path not seen before, or whose
// hash differs, is fetched as before. It never makes up content or hashes: a
// failed or missing batch only means the ordinary fetch.

import { BoundedMap } from "../operators/cache.ts";
import type { FileHash, FileSource } from "../operators/file-source.ts";

/** A role run's FileSource; done() records what the run fetched, for the next run. */
export type RunFiles = FileSource & { done(): void };

export class RoleFiles {
  /** Role name -> fileroot paths its last run fetched. */
  private readonly byRole = new BoundedMap<string, string[]>(1_000);

  /** The FileSource one run of `role` uses. */
  open(files: FileSource, role: string): RunFiles {
    const known = this.byRole.get(role) ?? [];
    const used = new Set<string>();
    const batch = known.length > 0 && files.hashes ? ask(files, known) : undefined;
    return {
      async fetch(path, have) {
        used.add(path);
        if (batch && have !== undefined) {
          const got = (await batch).get(path);
          if (got && got.hash === have) return { hash: got.hash, size: got.size };
        }
        return files.fetch(path, have);
      },
      scan: (dir) => files.scan(dir),
      read: (path, offset, length) => files.read(path, offset, length),
      ...(files.hashes ? { hashes: (paths: string[]) => files.hashes!(paths) } : {}),
      done: () => void this.byRole.set(role, [...used]),
    };
  }
}

/** The hashes of `paths`, by path; empty when the request fails (then every fetch asks on its own). */
async function ask(files: FileSource, paths: string[]): Promise<Map<string, FileHash>> {
  const out = new Map<string, FileHash>();
  try {
    const list = await files.hashes!(paths);
    paths.forEach((p, i) => {
      const h = Array.isArray(list) ? list[i] : undefined;
      if (h && typeof h.hash === "string" && typeof h.size === "number") out.set(p, h);
    });
  } catch {
    /* an older master, or a lost connection: the fetches will say */
  }
  return out;
}
