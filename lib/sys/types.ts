// The ports through which operators touch the local machine: reads (Observe),
// writes (Disk), users and groups, processes. lib/sys implements them for
// real; tests inject fakes. Types only: no code, no I/O.

/** Owner a file or directory must end up with. */
export interface Owner {
  uid: number;
  gid: number;
}

/** One entry of a directory tree, as the master's scan sends it to agents (operators/file-source.ts). */
export interface TreeEntry {
  /** Relative to the scanned directory, "/"-separated, no leading "./". */
  path: string;
  type: "file" | "dir" | "symlink";
  size: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtimeNs: string;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** The link target, for symlinks. */
  target?: string;
}

/** A file of the master's fileroot as a fetch answers it. */
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
/** A tree entry with its owner, as a local walk sees it (the master's scan leaves owners out). */
export interface TreeItem extends TreeEntry {
  uid?: number;
  gid?: number;
}

export type FileType = "file" | "dir" | "symlink" | "other";

export interface Stat {
  type: FileType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  dev: bigint;
  ino: bigint;
}

/** Reads of the local disk. Paths are real paths (with the prefix). */
export interface Observe {
  /** undefined when nothing is there; does not follow a final symlink. */
  lstat(path: string): Promise<Stat | undefined>;
  /** Follows symlinks (for parent directories: /etc is a link on macOS). */
  stat(path: string): Promise<Stat | undefined>;
  readlink(path: string): Promise<string>;
  read(path: string): Promise<Uint8Array>;
  /** SHA-256 of a file, not read again while its (dev, ino, size, mtime, ctime) stay the same. */
  hash(path: string, st: Stat): Promise<string>;
  /** The file at `path` now holds content with this hash (we just wrote it). */
  remember(path: string, hash: string): Promise<void>;
  /** Every entry below `dir` (lstat, parents first); [] when `dir` is absent. */
  walk(dir: string): Promise<TreeItem[]>;
}

export interface WriteHandle {
  write(data: Uint8Array): Promise<void>;
  /** Start writing the data to the disk without waiting (Linux), so that a later sync() costs less. */
  startWriteback(): void;
  /** Wait until data and metadata are on the disk (fsync); several may run at once. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Writes to the local disk. Paths are real paths. */
export interface Disk {
  /** A new file (it must not exist) that already has its final mode and owner. */
  create(path: string, mode: number, owner: Owner): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  /** Recursive; nothing there is fine. */
  remove(path: string): Promise<void>;
  /** One level; the mode is set exactly (no umask). */
  mkdir(path: string, mode: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** Does not follow a symlink. */
  lchown(path: string, owner: Owner): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  utimes(path: string, mtimeNs: bigint): Promise<void>;
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  /** Only for a user a dry run planned or changed (operators/planned.ts): what it would be. */
  planned?: {
    home?: string;
    shell?: string;
    comment?: string /** sha256 of the crypt hash, never the hash */;
    passwordId?: string;
  };
}

/** The live system's users and groups (never under --path). */
export interface Users {
  /** Which commands manage users here: shadow-utils, busybox (Alpine) or macOS dscl. */
  readonly platform: "linux" | "busybox" | "darwin";
  self(): Promise<UserInfo>;
  user(name: string): Promise<UserInfo | undefined>;
  /** The gid of a group. */
  group(name: string): Promise<number | undefined>;
  /** The name of a uid / gid, for output (`owner root:root -> app:app`); undefined when it has none. */
  userName(uid: number): Promise<string | undefined>;
  groupName(gid: number): Promise<string | undefined>;
  /** Supplementary group names of a user, sorted. */
  groupsOf(name: string): Promise<string[]>;
  /** An unused uid (and gid) for a new account (macOS needs one chosen). */
  freeId(system: boolean): Promise<number>;
  /** Users or groups were changed: forget what was cached. */
  invalidate(): void;
}

export interface ExecOpts {
  cwd?: string;
  /** Written to the command's stdin (else it reads nothing): chpasswd's "name:hash", never shown. */
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Each chunk of stdout or stderr as it arrives (`salty run` streams them), before the cap. */
  onOutput?: (chunk: Uint8Array) => void;
}

export interface ExecResult {
  rc: number;
  /** stdout and stderr as they arrived, capped (limits.shellOutputBytes). */
  output: string;
  timedOut?: boolean;
}

export type Exec = (argv: string[], opts?: ExecOpts) => Promise<ExecResult>;

/**
 * What belongs to the process that runs operators rather than to any one
 * operator: the temporary names its writes hold (two overlapping writes of one
 * destination get two names) and when received content is collected. The
 * executor that owns the process makes one (lib/sys/runtime.ts).
 */
export interface Runtime {
  /** `base` itself, or a numbered variant while another write holds `base`; held until released. */
  holdName(base: string): string;
  releaseName(name: string): void;
  /** This many bytes of received content were written and are garbage now. */
  received(bytes: number): void;
}

/** What a read-only probe saw; stdout and stderr apart, since parsers read stdout only. */
export interface ProbeOutput {
  rc: number;
  stdout: string;
  stderr: string;
}

/**
 * Read-only questions to the live system while an operator plans, dry runs
 * included (`dpkg-query`, `systemctl is-active`, `getent`, `git rev-parse`, a
 * system database such as /var/lib/dpkg/status). Never under --path: like users,
 * it sees the real system. What it returns is parsed by pure functions.
 */
export interface Probe {
  /** Runs a command that changes nothing (no shell, LC_ALL=C); a non-zero rc is data, a timeout throws. */
  run(argv: string[], opts?: { timeoutMs?: number; cwd?: string }): Promise<ProbeOutput>;
  /** A system file's text; undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** `systemctl show -p Id,LoadState,ActiveState,UnitFileState -- ...units`'s text asked of systemd without a process (its private socket); undefined: run systemctl. */
  systemdShow?(units: string[]): Promise<string | undefined>;
}

/** serverShell: a command the master's fileroot declares (server/NAME), its JSON arguments, the asking role (wire/api.ts). */
export interface ServerCommandRequest {
  name: string;
  args?: unknown;
  role: string;
  /** Seconds. */
  timeout?: number;
}

/** A /bin/sh command with cwd, env and timeout (runShell). */
export interface ShellRequest {
  cmds: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds. */
  timeout?: number;
}
