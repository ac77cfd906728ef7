// The agent's half of the known-hashes round-trip saver (the master's half is
// lib/master/known-files.ts). Known file hashes for a role run: the master sends, with each role request,
// the hash and size of every copy and render source the role fetched on this
// agent last time (lib/master/known-files.ts). A fetch whose destination (or
// cached template) already holds that content is then answered here, without
// a request of its own; anything else is fetched as before. The run reports
// what it fetched, for the next time. It never makes up content or hashes.
// Every other method of the source is passed on untouched: a layer of the
// chain that dropped readMany or scanSince would silently cost one request per
// file (test/agent/file-source-chain.test.ts drives the whole chain).

import type { FileHash, FileSource } from "../operators/file-source.ts";

/** A role run's FileSource; fetched() lists the fileroot paths this run fetched. */
export type RunFiles = FileSource & { fetched(): string[] };

export function knownFiles(
  files: FileSource,
  known: Record<string, FileHash> | undefined,
): RunFiles {
  const used = new Set<string>();
  return {
    ...files,
    async fetch(path, have) {
      used.add(path);
      const got = known && Object.hasOwn(known, path) ? known[path] : undefined;
      if (got && have !== undefined && got.hash === have && typeof got.size === "number")
        return { hash: got.hash, size: got.size };
      return files.fetch(path, have);
    },
    fetched: () => [...used],
  };
}
