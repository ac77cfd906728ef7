// What the master tells an agent about a role's files before it runs: the
// hash and size of each copy and render source the role fetched on that
// agent's previous run (the agent reports them with each run's results), so
// that unchanged files cost the agent no request at all (lib/agent/known-files.ts).
// Kept per agent connection and role; a new connection starts empty.

import { limits } from "../constants.ts";
import type { FileHash } from "../sys/types.ts";
import type { AgentFiles } from "./fileserver.ts";

const fetchedBy = new WeakMap<object, Map<string, string[]>>();

/** A run's report said which fileroot paths it fetched (anything else is ignored). */
export function rememberFetched(connection: object, role: string, paths: unknown): void {
  if (!Array.isArray(paths)) return;
  const list = paths.filter((p): p is string => typeof p === "string").slice(0, limits.maxHashBatch);
  let byRole = fetchedBy.get(connection);
  if (!byRole) fetchedBy.set(connection, (byRole = new Map()));
  byRole.set(role, list);
}

/** The hashes to send with the next run of `role`; undefined when there is nothing to say. Files that fail are left out (the fetch will say why). */
export async function knownFilesFor(connection: object, role: string, files: AgentFiles | undefined): Promise<Record<string, FileHash> | undefined> {
  const paths = fetchedBy.get(connection)?.get(role);
  if (!paths?.length || !files) return undefined;
  const hashes = await files.hashes(paths);
  const out: Record<string, FileHash> = {};
  paths.forEach((p, i) => {
    const h = hashes[i];
    if (h) out[p] = h;
  });
  return out;
}
