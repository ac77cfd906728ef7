// The Runtime of one process that runs operators (lib/sys/types.ts): the
// temporary names in use and the memory policy for received content. Made by
// the executor that owns the process (agent/runner.ts), one per process.

import type { Runtime } from "./types.ts";

/**
 * `gcEveryBytes`: received content is garbage once written; left to itself the
 * GC lets tens of megabytes of it pile up during a big transfer, so the process
 * collects every so many bytes (0: never; docs/performance.md has the figures).
 */
export function createRuntime(opts: { gcEveryBytes: number; collect?: () => void }): Runtime {
  const held = new Set<string>();
  let counter = 0;
  let sinceGc = 0;
  const collect = opts.collect ?? (() => Bun.gc(true));
  return {
    holdName(base) {
      const name = held.has(base) ? `${base}-${++counter}` : base;
      held.add(name);
      return name;
    },
    releaseName: (name) => void held.delete(name),
    received(bytes) {
      if (opts.gcEveryBytes <= 0) return;
      sinceGc += bytes;
      if (sinceGc < opts.gcEveryBytes) return;
      sinceGc = 0;
      collect();
    },
  };
}
