// The only way operators see the master: an injected FileSource. The agent's
// implementation calls the master over RPC; unit tests use a local fake.
// Paths are relative to the fileroot ("files/nginx/nginx.conf", "files/app/static").
// The master confines them (no "..", no absolute paths, no symlink escapes, never the keyroot).

export interface SourceFile {
  /** SHA-256 hex of the content (of the decrypted content for a .enc file). */
  hash: string;
  size: number;
  /** Decrypted from an `.enc` file: never shown in a diff. */
  secret?: boolean;
  /** The content, absent when the caller already has `hash`, or when the file
   * is larger than the inline limit (then pull it with `read`). */
  data?: Uint8Array;
}

/** A scan and its digest; `entries` is left out when the caller already holds that digest. */
export interface ScanReply {
  digest: string;
  entries?: TreeEntry[];
}

/** `length` bytes of a fileroot file from `offset`. */
export interface ReadRange {
  path: string;
  offset: number;
  length: number;
}

/** What a fetch says of a file without its content. */
export interface FileHash {
  hash: string;
  size: number;
}

import type { TreeEntry } from "../sys/types.ts";

export type { TreeEntry };

export interface FileSource {
  /** A file under files/. `have` is the hash the caller holds: a match returns no data. */
  fetch(path: string, have?: string): Promise<SourceFile>;
  /** Every entry below a fileroot directory, depth-first, parents before children. */
  scan(dir: string): Promise<TreeEntry[]>;
  /** `length` bytes of a fileroot file from `offset` (fewer at the end). */
  read(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Many files under files/ at once: hash and size, or null where a fetch would fail. Optional: one request instead of one per file. */
  hashes?(paths: string[]): Promise<Array<FileHash | null>>;
  /** Many reads in one request (small syncdir files): the same bytes as read() for each. Optional. */
  readMany?(reads: ReadRange[]): Promise<Uint8Array[]>;
  /** A scan unless it still has the digest `have` (then only the digest): a transport saves sending it again. Optional. */
  scanSince?(dir: string, have: string): Promise<ScanReply>;
}
