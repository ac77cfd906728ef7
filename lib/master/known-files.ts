// The master's half of the known-hashes round-trip saver (the agent's half is
// lib/agent/known-files.ts): with a role request the master sends the hash and
// size of each copy and render source the role fetched on that agent's
// previous run (the agent reports them with each run's results), so that
// unchanged files cost the agent no request at all. One per agent connection
// (on its session); a new connection starts empty.

import { limits } from "../constants.ts";
import type { FileHash } from "../sys/types.ts";
import type { AgentFiles } from "./fileserver.ts";

export class KnownFiles {
  private readonly fetchedBy = new Map<string, string[]>();

  /** A run's report said which fileroot paths it fetched (anything else is ignored). */
  remember(role: string, paths: unknown): void {
    if (!Array.isArray(paths)) return;
    this.fetchedBy.set(
      role,
      paths.filter((p): p is string => typeof p === "string").slice(0, limits.maxHashBatch),
    );
  }

  /**
   * The hashes to send with the next run of `role`; undefined when there is nothing to say. Files
   * that fail are left out (the fetch will say why). `pass`: the apply's (AgentFiles.hashes).
   */
  async for(
    role: string,
    files: AgentFiles | undefined,
    pass?: string,
  ): Promise<Record<string, FileHash> | undefined> {
    const paths = this.fetchedBy.get(role);
    if (!paths?.length || !files) return undefined;
    const hashes = await files.hashes(paths, pass);
    const out: Record<string, FileHash> = {};
    paths.forEach((p, i) => {
      const h = hashes[i];
      if (h) out[p] = h;
    });
    return out;
  }
}
