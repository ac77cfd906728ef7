// The vocabulary of operators: the changes a plan lists, the capabilities an
// operator is handed (never imported singletons), and the shape of an
// operator. Types only: no code, no I/O. The ports (Observe, Disk, Users,
// Exec) are declared in lib/sys/types.ts beside their real implementations.

import type { HostInfo, Result } from "salty";
import type {
  Disk,
  Exec,
  Observe,
  Probe,
  Runtime,
  ServerCommandRequest,
  Users,
} from "../sys/types.ts";
import type { FileSource } from "./file-source.ts";
import type { AgentCache } from "./cache.ts";
import type { HostState } from "./handlers.ts";

/** One step of a plan. Paths are the role's paths (before --path PREFIX); JSON-serializable. */
export type Change =
  | { kind: "mkdir"; path: string; mode: number; uid: number; gid: number }
  /** Content in memory (plan.blobs[hash]): rendered text, a line edit, a small copied file. `was`: the file it replaces. */
  | {
      kind: "write";
      path: string;
      hash: string;
      size: number;
      mode: number;
      uid: number;
      gid: number;
      was?: Was;
      validate?: string;
    }
  /** `validate`: a command line run on the temporary file (%s) before the rename; it replaces the file only on rc 0 (_validate.ts). */
  /** Content pulled from the master in chunks while it is written (big copies, syncdir). */
  | {
      kind: "fetch";
      path: string;
      src: string;
      size: number;
      hash?: string;
      mtimeNs?: string;
      mode: number;
      uid: number;
      gid: number;
      was?: Was;
      validate?: string;
    }
  /** `was`: the mode before, so that output can say `mode 0644 -> 0600`. */
  | { kind: "chmod"; path: string; mode: number; was: number }
  /** `was`: the owner before (`owner root:root -> app:app`). */
  | { kind: "chown"; path: string; uid: number; gid: number; was: { uid: number; gid: number } }
  | { kind: "symlink"; path: string; target: string; uid?: number; gid?: number }
  | { kind: "remove"; path: string }
  | { kind: "utime"; path: string; mtimeNs: string }
  /** An http(s) URL streamed into the temporary file beside `path`, checked against `sha256`, then renamed (_download.ts). */
  | {
      kind: "download";
      path: string;
      url: string;
      sha256?: string;
      mode: number;
      uid: number;
      gid: number;
      was?: Was;
    }
  /** The archive at `archive` (a role path; `temporary`: fetched for this and removed after) extracted into the directory `path`
   * after its entries were checked (_archive.ts); `hash`: the archive's SHA-256, checked again and kept in the marker. */
  | {
      kind: "unarchive";
      path: string;
      archive: string;
      format: ArchiveFormat;
      hash: string;
      temporary?: true;
    }
  /** A command; `report`: its rc and output are the Result's (shell), else a failure is an error (useradd).
   * `accounts`: what it makes of users and groups (useradd, usergroups), for a dry run's planned world.
   * `stdin`: what the command reads (chpasswd's "name:hash"); never shown in output, errors or dry runs.
   * On "master" (serverShell): argv is [NAME], a command the master declares (server/NAME), given the JSON `args`. */
  | {
      kind: "exec";
      argv: string[];
      on?: "master";
      args?: unknown;
      report?: true;
      cwd?: string;
      env?: Record<string, string>;
      timeoutMs?: number;
      accounts?: Accounts;
      lockHeld?: { pattern: string; message: string };
      stdin?: string;
    };

export type ArchiveFormat = "tar.gz" | "tar.xz" | "zip";

/** Mode and owner of what a write replaces. */
export interface Was {
  mode: number;
  uid: number;
  gid: number;
}

/** A user command's effect: `user` and `group` exist afterwards (a new user's primary group is `group`); `user`'s supplementary groups are `groups`. */
export interface Accounts {
  user?: string;
  group?: string;
  groups?: string[];
  /** The ids asked for (user(name, {uid}), group(name, {gid})): a dry run shows them rather than planned ones. */
  uid?: number;
  gid?: number;
  /** user(): what the user gets (home: authorizedKeys plans under it in a dry run; passwordId: sha256 of the hash). */
  home?: string;
  shell?: string;
  comment?: string;
  passwordId?: string;
  /** group(name, {members}): these users join `group`, those leave it. */
  join?: string[];
  leave?: string[];
  /** user/group(name, {state: "absent"}): they are gone afterwards. */
  removed?: true;
}

export interface Plan {
  changes: Change[];
  /** Why nothing is needed, when `changes` is empty. */
  note?: string;
  /** The destination did not exist. */
  created?: boolean;
  /** Unified diff of a text change (computed only with --diff). */
  diff?: string;
  /** syncdir: files added, updated and removed; entries fixed, directories added and removed (when not 0). */
  counts?: Result["changes"];
  /** Contents of the `write` changes, by hash. */
  blobs?: Map<string, Uint8Array>;
  /** What the changes do, in words ("install tree; remove hello 2.10-3"): a dry run says "would ..." first. */
  summary?: string;
  /** Whether carrying out the changes counts as `changed` (shell's `changed` option): false never, a function decides from the command's rc and output. */
  changed?: false | ((r: { rc: number; output: string }) => unknown);
  /** After the changes were applied: the Result's output (what was installed, with versions). */
  report?: () => Promise<string>;
}

/** What an agent holds for all roles; `files` and `serverShell` come from the connection. */
export interface Caps {
  observe: Observe;
  disk: Disk;
  files: FileSource;
  users: Users;
  exec: Exec;
  /** Read-only questions to the live system while planning (packages, services, users). */
  probe: Probe;
  cache: AgentCache;
  /** The process's own state: temporary names held, when to collect garbage. */
  runtime: Runtime;
  /** What the agent keeps for its host across roles: handlers, unit states of this apply. Absent: notify and service fail. */
  host?: HostState;
  /** Runs on the master (an RPC call); absent: serverShell fails with rc 1. */
  serverShell?: (req: ServerCommandRequest) => Promise<Result>;
  dryRun: boolean;
  diff: boolean;
  /** --path PREFIX: every destination is written under it; "" for none. */
  pathPrefix: string;
}

/** What one operator call sees: the capabilities plus the role's context. */
export interface OpCtx extends Caps {
  /** Template locals: the role's context, myIp, getIps and quote. */
  locals: Record<string, unknown>;
  /** Aborted when the role runs past its timeout. */
  signal?: AbortSignal;
  /** The role was sent without the shared hosts (its code does not name them; `locals` has no `hosts`): loads them,
   * for a template that names them (lib/agent/shared-hosts.ts). */
  loadHosts?: () => Promise<Record<string, HostInfo>>;
}

export interface Operator<A extends unknown[]> {
  /** A readable call, e.g. `copy(nginx/mime.types, /etc/nginx/mime.types)`; must not throw. */
  describe(...args: A): string;
  plan(ctx: OpCtx, ...args: A): Promise<Plan>;
}
