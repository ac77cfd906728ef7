// Test doubles for the operator ports: a FileSource over a local fileroot
// directory (counting its calls), an Observe wrapper counting reads, and a
// fake users database with a fake Exec that understands the user commands.
// Fakes throw on a name they were not given, so a fixture cannot silently
// leave something out.

import { existsSync, lstatSync, statSync } from "node:fs";
import { join, normalize } from "node:path";
import { limits } from "../../lib/constants.ts";
import { SaltyError } from "../../lib/errors.ts";
import type { FileSource } from "../../lib/operators/file-source.ts";
import type { FileProtocol } from "../../lib/wire/file-methods.ts";
import { hashBytes } from "../../lib/sys/hash.ts";
import type { Exec, Observe, Probe, UserInfo, Users } from "../../lib/sys/types.ts";
import { walkTree } from "../../lib/sys/walk.ts";

export interface Counters {
  fetch: number;
  scan: number;
  read: number;
  readBytes: number;
  observeRead: number;
  observeHash: number;
}

export const counters = (): Counters => ({ fetch: 0, scan: 0, read: 0, readBytes: 0, observeRead: 0, observeHash: 0 });

function under(root: string, rel: string): string {
  const norm = normalize(rel);
  if (rel.startsWith("/") || norm.startsWith("..")) throw new SaltyError(`path escapes the fileroot: ${rel}`, "E_PATH");
  const full = join(root, norm);
  if (!existsSync(full)) throw new SaltyError(`no such file in the fileroot: ${rel}`, "E_NOENT");
  return full;
}

/** The master's files, served from a local directory; also the file protocol (scanSince), for the agent's chain. */
export function dirSource(root: string, n: Counters): FileSource & FileProtocol {
  const source: FileSource & FileProtocol = {
    async fetch(path, have) {
      n.fetch++;
      if (!path.startsWith("files/")) throw new SaltyError(`copy and render sources must lie under files/: ${path}`, "E_PATH");
      const full = under(root, path);
      if (!statSync(full).isFile()) throw new SaltyError(`not a regular file: ${path}`, "E_NOT_FILE");
      const data = await Bun.file(full).bytes();
      const hash = hashBytes(data);
      if (hash === have || data.length > limits.inlineFileBytes) return { hash, size: data.length };
      return { hash, size: data.length, data };
    },
    async scan(dir) {
      n.scan++;
      const full = under(root, dir);
      if (!lstatSync(full).isDirectory()) throw new SaltyError(`not a directory: ${dir}`, "E_NOT_DIR");
      return walkTree(full).map(({ uid: _u, gid: _g, ...entry }) => entry);
    },
    async read(path, offset, length) {
      n.read++;
      const data = await Bun.file(under(root, path)).slice(offset, offset + length).bytes();
      n.readBytes += data.length;
      return data;
    },
    readMany: (reads) => Promise.all(reads.map((r) => source.read(r.path, r.offset, r.length))),
    scanSince: async (dir) => ({ digest: "", entries: await source.scan(dir) }),
  };
  return source;
}

/** Count the reads an operator makes of local files. */
export function countingObserve(inner: Observe, n: Counters): Observe {
  return {
    ...inner,
    read: (p) => (n.observeRead++, inner.read(p)),
    hash: (p, st) => (n.observeHash++, inner.hash(p, st)),
  };
}

export interface UserFixture {
  uid: number;
  gid: number;
  groups?: string[];
}

/** users: name -> user, or null for "known to be absent"; groups likewise. */
export interface SystemFixture {
  platform?: Users["platform"];
  self?: string;
  users: Record<string, UserFixture | null>;
  groups: Record<string, number | null>;
}

function known<T>(table: Record<string, T | null>, name: string, what: string): T | undefined {
  if (!(name in table)) throw new Error(`fixture has no ${what} "${name}" (list it, or null for absent)`);
  return table[name] ?? undefined;
}

/** A users database in memory and an Exec that applies shadow-utils commands to it. */
export function fakeSystem(fx: SystemFixture): { users: Users; exec: Exec; log: string[][] } {
  const log: string[][] = [];
  let next = 5000;
  const users: Users = {
    platform: fx.platform ?? "linux",
    async self() {
      const name = fx.self ?? "root";
      const u = known(fx.users, name, "user")!;
      return { name, uid: u.uid, gid: u.gid };
    },
    async user(name): Promise<UserInfo | undefined> {
      const u = known(fx.users, name, "user");
      return u && { name, uid: u.uid, gid: u.gid };
    },
    group: async (name) => known(fx.groups, name, "group"),
    userName: async (uid) => Object.entries(fx.users).find(([, u]) => u?.uid === uid)?.[0],
    groupName: async (gid) => Object.entries(fx.groups).find(([, g]) => g === gid)?.[0],
    groupsOf: async (name) => [...(known(fx.users, name, "user")?.groups ?? [])].sort(),
    freeId: async () => next++,
    invalidate() {},
  };
  const exec: Exec = async (argv) => {
    log.push(argv);
    const [cmd, ...rest] = argv;
    const name = rest[rest.length - 1]!;
    if (cmd === "groupadd") fx.groups[name] = next++;
    else if (cmd === "useradd") fx.users[name] = { uid: next++, gid: fx.groups[name] ?? 0, groups: [] };
    else if (cmd === "usermod") fx.users[name]!.groups = rest[1] ? rest[1].split(",") : [];
    else throw new Error(`fake exec does not know ${argv.join(" ")}`);
    return { rc: 0, output: "" };
  };
  return { users, exec, log };
}

/** Captured answers of a Probe, by the command line joined with spaces and by path; anything else throws. */
export interface ProbeFixture {
  commands?: Record<string, { rc?: number; stdout?: string; stderr?: string }>;
  files?: Record<string, string | null>;
}

/** A Probe that answers only what the fixture holds and records what it was asked. */
export function fakeProbe(fx: ProbeFixture): Probe & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async run(argv) {
      const key = argv.join(" ");
      asked.push(key);
      const got = fx.commands && Object.hasOwn(fx.commands, key) ? fx.commands[key] : undefined;
      if (!got) throw new Error(`fake probe: no answer for the command ${JSON.stringify(key)}`);
      return { rc: got.rc ?? 0, stdout: got.stdout ?? "", stderr: got.stderr ?? "" };
    },
    async read(path) {
      asked.push(path);
      if (!fx.files || !Object.hasOwn(fx.files, path)) throw new Error(`fake probe: no file ${path} in the fixture`);
      return fx.files[path] ?? undefined;
    },
  };
}
