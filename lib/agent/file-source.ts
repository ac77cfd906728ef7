// The agent's file-source chain, built in this one place: the master's file
// protocol (RPC on the main thread, forwarded to the role worker) -> the scan
// cache (an unchanged syncdir source comes back as its digest) -> the known
// hashes of the role request (an unchanged copy or render asks nothing) -> the
// operators' FileSource. Every layer passes on what it does not change:
// test/agent/file-source-chain.test.ts drives the whole chain and counts what
// reaches the wire.

import type { FileHash } from "../sys/types.ts";
import type { FileProtocol } from "../wire/file-methods.ts";
import { knownFiles, type RunFiles } from "./known-files.ts";
import type { ScanCache } from "./scan-cache.ts";

/** One role run's view of the master's files. */
export function runFiles(
  protocol: FileProtocol,
  scans: ScanCache,
  known: Record<string, FileHash> | undefined,
): RunFiles {
  const source = {
    fetch: (path: string, have?: string) => protocol.fetch(path, have),
    scan: (dir: string) => scans.scan(protocol, dir),
    read: protocol.read,
    readMany: protocol.readMany,
  };
  return knownFiles(source, known);
}
