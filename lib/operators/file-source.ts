// The only way operators see the master: an injected FileSource, the port of
// what operators call. The agent builds it over the wire protocol
// (wire/file-methods.ts) in agent/file-source.ts; unit tests use a local fake.
// Paths are relative to the fileroot ("files/nginx/nginx.conf", "files/app/static").
// The master confines them (files/ only, no "..", no absolute paths, no symlink escapes).

import type { FileHash, ReadRange, ScanReply, SourceFile, TreeEntry } from "../sys/types.ts";

export type { FileHash, ReadRange, ScanReply, SourceFile, TreeEntry };

export interface FileSource {
  /** A file under files/. `have` is the hash the caller holds: a match returns no data. */
  fetch(path: string, have?: string): Promise<SourceFile>;
  /** Every entry below a fileroot directory, depth-first, parents before children. */
  scan(dir: string): Promise<TreeEntry[]>;
  /** `length` bytes of a fileroot file from `offset` (fewer at the end). */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Many reads in one request (small syncdir files): the same bytes as read() for each. */
  readMany(reads: ReadRange[]): Promise<Uint8Array[]>;
}
