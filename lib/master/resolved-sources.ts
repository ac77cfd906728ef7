// Copy and render sources already confined, so that the hashes sent with each
// role request (known-files.ts) cost a stat per file instead of a realpath.
// Only a source whose real path is its own path under FILEROOT/files (no
// symlink anywhere on it) is remembered, with its device and inode, and only
// while a watcher of that directory reports nothing (sys/watched-trees.ts):
// a directory on the path renamed, or replaced by a symlink, is an event
// there. On use, the file at that path must still be the same inode, which
// also covers what the watcher reports late, and its stat identity says
// whether its content changed (a hard link written from outside files/ is no
// event there): checked once per pass (an apply), however many hosts ask.
// Anything else (a symlink on the path, `.enc` files, a files/ that is itself
// a symlink or was replaced, a filesystem without change events) goes through
// resolveUnder() as before.

import { lstatSync } from "node:fs";
import { join } from "node:path";
import type { FileHash } from "../sys/types.ts";
import { WatchedTrees } from "../sys/watched-trees.ts";

export interface Confined {
  /** The absolute path, equal to its real path. */
  full: string;
  dev: bigint;
  ino: bigint;
  /** Its hash as checked during one pass (an apply: AgentFiles.hashes). */
  checked?: { pass: string; hash: FileHash };
}

interface Memo {
  /** "dev:ino" of the files/ directory this memo was made for. */
  id: string;
  paths: Map<string, Confined>;
}

export class ResolvedSources {
  private readonly trees = new WatchedTrees<Memo>((dir) => ({
    id: directoryId(dir),
    paths: new Map(),
  }));

  /** The last answer and the pass it was given in. */
  private last?: { pass: string; realRoot: string; paths: Map<string, Confined> | undefined };

  /**
   * The memo of FILEROOT/files, for the fileroot whose real path is `realRoot`, by request path;
   * undefined when files/ is not a plain directory or not the one the memo was made for. Within one
   * `pass` (an apply) it is looked up once, as each file's hash is: 1,000 hosts asked 1,000 times.
   */
  async memo(realRoot: string, pass?: string): Promise<Map<string, Confined> | undefined> {
    const last = this.last;
    if (pass !== undefined && last?.pass === pass && last.realRoot === realRoot) return last.paths;
    const dir = join(realRoot, "files");
    const id = directoryId(dir);
    const memo = id ? await this.trees.get(dir) : undefined;
    const paths = memo && memo.id === id ? memo.paths : undefined;
    if (pass !== undefined) this.last = { pass, realRoot, paths };
    return paths;
  }

  close(): void {
    this.trees.close();
  }
}

/** "dev:ino" of a directory that is not a symlink; "" otherwise. */
function directoryId(dir: string): string {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : "";
  } catch {
    return "";
  }
}
