// The master's file server: what agents may read of the fileroot, and nothing
// more. Every path from the network goes through resolveUnder() before it
// touches the disk: no "..", no absolute paths, no symlink escapes, never the
// keyroot. Agents read only under files/ (copy/render sources and syncdir
// sources alike), and only while one of their role runs is in progress; a scan
// never lists dot entries (.git, .env: name one to get it). `.enc` files are
// decrypted here, and only for an agent whose roles own them.
// Hashes are cached by (dev, ino, size, mtime, ctime) so unchanged files are not re-read;
// the sources whose hashes go with role requests are confined once while files/ is unchanged
// (resolved-sources.ts).

import { readFileSync, realpathSync, statSync, type BigIntStats } from "node:fs";
import { basename, isAbsolute, join, normalize, relative, sep } from "node:path";
import { SaltyError } from "../errors.ts";
import { limits, timing } from "../constants.ts";
import { hashBytes, hashFile } from "../sys/hash.ts";
import { WatchedTrees } from "../sys/watched-trees.ts";
import { encode } from "../wire/codec.ts";
import { walkTree } from "../sys/walk.ts";
import type { FileHash, ReadRange, SourceFile, TreeEntry } from "../sys/types.ts";
import { StatCache, identityOf } from "../sys/stat-cache.ts";
import type { FileProtocol } from "../wire/file-methods.ts";
import { ResolvedSources, type Confined } from "./resolved-sources.ts";

/**
 * The fileroot as one agent may see it: the file protocol, and the hashes the master sends with
 * role requests. `pass` (an apply's id): a source checked during that pass is not checked again,
 * however many hosts ask for it (as each role's source is read once per apply).
 */
export type AgentFiles = FileProtocol & {
  hashes(paths: string[], pass?: string): Promise<Array<FileHash | null>>;
};

/** Resolve `rel` inside `root`, refusing anything that would leave it. Returns the absolute path. */
export function resolveUnder(
  root: string,
  rel: unknown,
  opts: { forbid?: string[]; realRoot?: string } = {},
): string {
  if (typeof rel !== "string" || rel === "")
    throw new SaltyError("path must be a non-empty string", "E_PATH");
  if (rel.includes("\0"))
    throw new SaltyError(`path contains a NUL byte: ${JSON.stringify(rel)}`, "E_PATH");
  if (isAbsolute(rel)) throw new SaltyError(`absolute path refused: ${rel}`, "E_PATH");
  const norm = normalize(rel);
  if (norm === ".." || norm.startsWith(`..${sep}`))
    throw new SaltyError(`path escapes the fileroot: ${rel}`, "E_PATH");
  const realRoot = opts.realRoot ?? realpathSync(root);
  const full = join(realRoot, norm);
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw new SaltyError(`no such file in the fileroot: ${rel}`, "E_NOENT");
  }
  if (!within(realRoot, real))
    throw new SaltyError(`path escapes the fileroot through a symlink: ${rel}`, "E_PATH");
  for (const f of opts.forbid ?? []) {
    if (within(f, real)) throw new SaltyError(`path is inside the keyroot: ${rel}`, "E_PATH");
  }
  return real;
}

/** Agents read only under files/: hosts/, roles/, .git and whatever else lies in the fileroot are the master's. */
function underFiles(path: string): void {
  const norm = typeof path === "string" ? normalize(path) : "";
  if (norm !== "files" && !norm.startsWith(`files${sep}`))
    throw new SaltyError(`agents read only under files/: ${String(path)}`, "E_PATH");
}

function within(dir: string, p: string): boolean {
  const r = relative(dir, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

export interface FileServerOptions {
  fileroot: string;
  /** Absolute keyroot: never served, even inside the fileroot. */
  keyroot: string;
  /** Decrypts a whole `.enc` file (original salty format); absent: `.enc` files are refused. */
  decrypt?: (bytes: Uint8Array) => Uint8Array;
}

export class FileServer {
  private hashes = new StatCache<string>();
  private plain = new StatCache<Uint8Array>();
  private forbid: string[];
  private root: { path: string; at: number } | undefined;
  // Syncdir sources: an unchanged one is answered without a walk, with the digest of its last one.
  private readonly watched = new WatchedTrees((real) => {
    const entries = this.walk(real);
    return { entries, digest: hashBytes(encode(entries)) };
  });
  // Sources confined once, then checked by a stat per request while files/ is unchanged.
  private readonly sources = new ResolvedSources();

  constructor(private opts: FileServerOptions) {
    let keyroot = opts.keyroot;
    try {
      keyroot = realpathSync(keyroot);
    } catch {
      /* a keyroot that does not exist yet cannot be served anyway */
    }
    this.forbid = [keyroot];
  }

  /**
   * The view of the fileroot one agent gets: files/ only, `.enc` files only
   * under files/ROLE/ of its own roles, and nothing while `active()` is false
   * (the master passes "one of its role runs is in progress").
   */
  sourceFor(
    secretRoles: () => ReadonlySet<string>,
    active: () => boolean = () => true,
  ): AgentFiles {
    const gate = () => {
      if (!active()) throw new SaltyError("file reads are refused outside a role run", "E_DENIED");
    };
    return {
      fetch: async (path, have) => (gate(), this.fetch(path, have, secretRoles())),
      scan: async (dir) => (gate(), this.scan(dir)),
      read: async (path, offset, length) => (
        gate(), this.read(path, offset, length, secretRoles())
      ),
      readMany: async (reads) => (gate(), this.readMany(reads, secretRoles())),
      hashes: async (paths, pass) => (gate(), this.hashesOf(paths, secretRoles(), pass)),
      scanSince: async (dir, have) => {
        gate();
        // Watched: an unchanged source is answered without a walk (sys/watched-trees.ts).
        const { entries, digest } = await this.watched.get(this.directory(dir));
        return digest === have ? { digest } : { digest, entries };
      },
    };
  }

  private async fetch(
    path: string,
    have: string | undefined,
    roles: ReadonlySet<string>,
  ): Promise<SourceFile> {
    const f = await this.describe(path, roles);
    const meta = { hash: f.hash, size: f.size, ...(f.plain ? { secret: true } : {}) };
    if (f.hash === have) return meta;
    if (f.plain) return { ...meta, data: f.plain };
    if (f.size > limits.inlineFileBytes) return meta;
    return { ...meta, data: await Bun.file(f.full).bytes() };
  }

  /** Hash and size of each path, null where a fetch would fail (it will say why). */
  private async hashesOf(
    paths: string[],
    roles: ReadonlySet<string>,
    pass: string | undefined,
  ): Promise<Array<FileHash | null>> {
    const realRoot = this.realRoot();
    const memo = await this.sources.memo(realRoot, pass);
    const out: Array<FileHash | null> = [];
    for (const path of paths) {
      try {
        const key = normalize(path);
        const known = memo?.get(key);
        if (known?.checked && known.checked.pass === pass) {
          out.push(known.checked.hash);
          continue;
        }
        const hit = known && (await this.confinedHash(known));
        if (hit) {
          if (pass !== undefined) known.checked = { pass, hash: hit };
          out.push(hit);
          continue;
        }
        const f = await this.describe(path, roles);
        const hash = { hash: f.hash, size: f.size };
        out.push(hash);
        // Remembered only when no symlink lies on its path: its real path is where it lies.
        if (memo && f.st && f.full === join(realRoot, key))
          memo.set(key, {
            full: f.full,
            dev: f.st.dev,
            ino: f.st.ino,
            ...(pass !== undefined ? { checked: { pass, hash } } : {}),
          });
      } catch {
        out.push(null);
      }
    }
    return out;
  }

  /** A remembered source's hash, when the file at its path is still that inode and a regular file; else undefined (resolve it again). */
  private async confinedHash(c: Confined): Promise<FileHash | undefined> {
    let st: BigIntStats | undefined;
    try {
      st = statSync(c.full, { bigint: true, throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (!st || st.dev !== c.dev || st.ino !== c.ino || !st.isFile()) return undefined;
    return { hash: await this.hashOf(c.full, st), size: Number(st.size) };
  }

  /** A copy/render source: where it is, its hash and size, and its plaintext when it is a decrypted `.enc`. */
  private async describe(
    path: string,
    roles: ReadonlySet<string>,
  ): Promise<FileHash & { full: string; plain?: Uint8Array; st?: BigIntStats }> {
    // Normalized first: "files/../hosts/index.ts" starts with files/ but does not lie there.
    if (typeof path !== "string" || !normalize(path).startsWith(`files${sep}`)) {
      throw new SaltyError(
        `copy and render sources must lie under files/: ${String(path)}`,
        "E_PATH",
      );
    }
    const { full, encrypted } = this.locate(path, roles);
    if (encrypted) {
      const plain = this.decrypted(full);
      return { full, hash: hashBytes(plain), size: plain.length, plain }; // hashing is cheap next to decryption, and secret files are small
    }
    const st = statSync(full, { bigint: true });
    if (!st.isFile()) throw new SaltyError(`not a regular file: ${path}`, "E_NOT_FILE");
    return { full, hash: await this.hashOf(full, st), size: Number(st.size), st };
  }

  /** read() for each, in one request: at most limits.maxReadBatch reads and limits.chunkBytes in all. */
  private async readMany(reads: ReadRange[], roles: ReadonlySet<string>): Promise<Uint8Array[]> {
    const total = reads.reduce(
      (n, r) => n + (Number.isSafeInteger(r.length) && r.length > 0 ? r.length : 0),
      0,
    );
    if (reads.length > limits.maxReadBatch || total > limits.chunkBytes) {
      throw new SaltyError(
        `too much in one read batch: ${reads.length} reads, ${total} bytes`,
        "E_RANGE",
      );
    }
    return Promise.all(reads.map((r) => this.read(r.path, r.offset, r.length, roles)));
  }

  private async read(
    path: string,
    offset: number,
    length: number,
    roles: ReadonlySet<string>,
  ): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      length > limits.chunkBytes
    ) {
      throw new SaltyError(`bad read range ${offset}+${length}`, "E_RANGE");
    }
    underFiles(path);
    const { full, encrypted } = this.locate(path, roles);
    if (encrypted) return this.decrypted(full).subarray(offset, offset + length);
    return Bun.file(full)
      .slice(offset, offset + length)
      .bytes();
  }

  /** Depth-first, parents before children, names sorted: deterministic for diffing. */
  private scan(dir: string): TreeEntry[] {
    return this.walk(this.directory(dir));
  }

  /** Dot entries (.git, .env, .ssh) are never listed: a role names one (as a copy source, or as the syncdir source itself) to get it. */
  private walk(real: string): TreeEntry[] {
    return walkTree(real, {
      skip: (abs) => basename(abs).startsWith(".") || this.forbid.some((f) => within(f, abs)),
    });
  }

  /** A directory under files/, resolved. */
  private directory(dir: string): string {
    underFiles(dir);
    const root = this.resolve(dir);
    if (!statSync(root).isDirectory()) throw new SaltyError(`not a directory: ${dir}`, "E_NOT_DIR");
    return root;
  }

  /** Stop watching scanned sources. */
  close(): void {
    this.watched.close();
    this.sources.close();
  }

  private resolve(path: string): string {
    return resolveUnder(this.opts.fileroot, path, {
      forbid: this.forbid,
      realRoot: this.realRoot(),
    });
  }

  /** The fileroot's real path, looked up again after a second (it may be a symlink that a deploy moves). */
  private realRoot(): string {
    const now = performance.now();
    if (!this.root || now - this.root.at >= timing.filerootRecheckMs)
      this.root = { path: realpathSync(this.opts.fileroot), at: now };
    return this.root.path;
  }

  /** files/x, else files/x.enc (decrypted, for an agent owning that role). */
  private locate(path: string, roles: ReadonlySet<string>): { full: string; encrypted: boolean } {
    try {
      return { full: this.resolve(path), encrypted: false };
    } catch (err) {
      if (!(err instanceof SaltyError) || err.code !== "E_NOENT") throw err;
    }
    let full: string;
    try {
      full = this.resolve(`${path}.enc`);
    } catch (err) {
      if (err instanceof SaltyError && err.code === "E_NOENT")
        throw new SaltyError(`no such file in the fileroot: ${path}`, "E_NOENT");
      throw err;
    }
    const role = this.roleOf(full);
    if (!role || !roles.has(role))
      throw new SaltyError(
        `secret file ${path}.enc belongs to ${role ? `role ${role}` : "no role"}, not one of this host's roles`,
        "E_SECRET_DENIED",
      );
    if (!this.opts.decrypt)
      throw new SaltyError(
        `cannot decrypt ${path}.enc: the master has no crypto.pass`,
        "E_NO_PASSWORD",
      );
    return { full, encrypted: true };
  }

  /** The role owning a file: its first directory under files/, from where the file really is, never from what the request said. */
  private roleOf(full: string): string | undefined {
    const rel = relative(realpathSync(join(this.opts.fileroot, "files")), full);
    const [role, ...rest] = rel.split(sep);
    return rel.startsWith("..") || isAbsolute(rel) || !rest.length ? undefined : role;
  }

  /** Decrypted content, cached by stat like the hashes: secrets are small and read often. */
  private decrypted(full: string): Uint8Array {
    const st = identityOf(statSync(full, { bigint: true }));
    const hit = this.plain.get(full, st);
    if (hit) return hit;
    const data = this.opts.decrypt!(new Uint8Array(readFileSync(full)));
    this.plain.set(full, st, data);
    return data;
  }

  private async hashOf(full: string, st: BigIntStats): Promise<string> {
    const id = identityOf(st);
    const hit = this.hashes.get(full, id);
    if (hit !== undefined) return hit;
    const hash = await hashFile(full);
    this.hashes.set(full, id, hash);
    return hash;
  }
}
