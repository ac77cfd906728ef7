// The running master's key files, each read once while its stat is
// unchanged. A handshake asks whether its id's key is rejected, accepted or
// pending, and the key watcher re-checks every live session every 10 s: with
// 10,000 agents that was four file reads a connection (two of them failing with
// ENOENT) and 2,000 reads a second, each a trip through the thread pool. Now
// each is a stat (synchronous: one system call on a small local file), and the
// file is read only when it is new or its stat identity (device, inode, size,
// mtime, ctime: sys/stat-cache.ts) changed.
//
// What makes a key be read again: anything that changes its file's identity:
// `salty keys accept|reject|delete` in another process (a rename or unlink), a
// file written, moved, deleted or edited in place by hand (its ctime), a
// directory replaced by a restored copy (other inodes). A file changed within
// timing.statRacyMs of its read is read again at each use until it is older
// (a write in the same timestamp tick can leave its stat as it was). No file
// event is relied on (inotify may merge or drop some, and the key watcher's
// own, key-watch.ts, only hastens the re-check of live sessions), so an
// accepted key rejected by any of these ways is refused at the next handshake
// and cut by the same watcher events and re-check as before. A key root on a
// file system not known to keep stat identities current (NFS caches
// attributes, FUSE...), or on another system than Linux (sys/watched-trees.ts
// localFilesystem knows Linux's local file systems only), is read at every
// use, as before. Keys in a database (--db, keystore-db.ts) are not cached:
// another master's accept or reject must count at the agent's next attempt.

import { readFileSync, statSync } from "node:fs";
import { BoundedMap } from "../operators/cache.ts";
import { identityOf, StatCache } from "../sys/stat-cache.ts";
import { localFilesystem } from "../sys/watched-trees.ts";
import { FileKeyRecords, keyInFile, type KeyKind, type KeyStatus } from "./keystore.ts";

/** Key files held at most: the keys of a large fleet's master, and strangers' pending keys (bounded apart). */
const MAX_CACHED = 100_000;

export class CachedKeyFiles extends FileKeyRecords {
  /** Whether reads are cached: a local file system. */
  readonly caching: boolean;
  /** Path -> its key, or why it is not one (thrown at each use, as an uncached read would). */
  private readonly keys = new StatCache<Uint8Array | Error>(new BoundedMap(MAX_CACHED));

  constructor(keyroot: string) {
    super(keyroot);
    this.caching = localFilesystem(keyroot);
  }

  override async read(
    kind: KeyKind,
    status: KeyStatus,
    id: string,
  ): Promise<Uint8Array | undefined> {
    if (!this.caching) return super.read(kind, status, id);
    const path = this.file(kind, status, id);
    const st = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st) {
      this.keys.delete(path);
      return undefined;
    }
    const now = identityOf(st);
    let key = this.keys.get(path, now);
    if (key === undefined) {
      // Read after the stat: a change in between leaves an older identity here, so it is read again next time.
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err; // unreadable: not kept, tried again next time
      }
      try {
        key = keyInFile(text, path);
      } catch (err) {
        key = err instanceof Error ? err : new Error(String(err));
      }
      this.keys.set(path, now, key);
    }
    if (key instanceof Error) throw key;
    return key;
  }
}
