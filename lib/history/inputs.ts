// A role run's inputs as one digest: its source, its context (vars, apply
// arguments, the host's facts; the other hosts by their digest) and the hashes
// of the files it fetched last time. Keyed (HMAC) with the master's own
// KEYROOT/history.key: the context holds the host's decrypted secrets, and a
// plain hash stored in the history would let whoever reads it test guesses.
// A change made by a run whose inputs equal those of the last successful run
// of that role on that host is corrective: someone changed the host.

import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FileHash } from "../operators/file-source.ts";

export function inputDigest(
  key: Uint8Array,
  parts: {
    source: string;
    context: unknown;
    sharedHosts?: string | undefined;
    known?: Record<string, FileHash> | undefined;
  },
): string {
  const h = createHmac("sha256", key);
  h.update(parts.source);
  h.update("\0");
  h.update(JSON.stringify(parts.context));
  h.update("\0");
  h.update(parts.sharedHosts ?? "");
  h.update("\0");
  h.update(
    JSON.stringify(
      parts.known
        ? Object.entries(parts.known).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        : [],
    ),
  );
  return h.digest("hex").slice(0, 32);
}

/** KEYROOT/history.key: 32 random bytes, made once (mode 0600, written atomically). */
export function inputKey(keyroot: string): Uint8Array {
  const path = join(keyroot, "history.key");
  if (existsSync(path)) {
    const key = readFileSync(path);
    if (key.length === 32) return key;
  }
  const key = randomBytes(32);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, key, { mode: 0o600 });
  renameSync(tmp, path);
  return key;
}
