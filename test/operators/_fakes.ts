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

export const counters = (): Counters => ({
  fetch: 0,
  scan: 0,
  read: 0,
  readBytes: 0,
  observeRead: 0,
  observeHash: 0,
});

function under(root: string, rel: string): string {
  const norm = normalize(rel);
  if (rel.startsWith("/") || norm.startsWith(".."))
    throw new SaltyError(`path escapes the fileroot: ${rel}`, "E_PATH");
  const full = join(root, norm);
  if (!existsSync(full)) throw new SaltyError(`no such file in the fileroot: ${rel}`, "E_NOENT");
  return full;
}

/** The master's files, served from a local directory; also the file protocol (scanSince), for the agent's chain. */
export function dirSource(root: string, n: Counters): FileSource & FileProtocol {
  const source: FileSource & FileProtocol = {
    async fetch(path, have) {
      n.fetch++;
      if (!path.startsWith("files/"))
        throw new SaltyError(`copy and render sources must lie under files/: ${path}`, "E_PATH");
      const full = under(root, path);
      if (!statSync(full).isFile())
        throw new SaltyError(`not a regular file: ${path}`, "E_NOT_FILE");
      const data = await Bun.file(full).bytes();
      const hash = hashBytes(data);
      if (hash === have || data.length > limits.inlineFileBytes) return { hash, size: data.length };
      return { hash, size: data.length, data };
    },
    async scan(dir) {
      n.scan++;
      const full = under(root, dir);
      if (!lstatSync(full).isDirectory())
        throw new SaltyError(`not a directory: ${dir}`, "E_NOT_DIR");
      return walkTree(full).map(({ uid: _u, gid: _g, ...entry }) => entry);
    },
    async read(path, offset, length) {
      n.read++;
      const data = await Bun.file(under(root, path))
        .slice(offset, offset + length)
        .bytes();
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
  home?: string;
  shell?: string;
  comment?: string;
  /** Its /etc/shadow field. */
  password?: string;
}

/** users: name -> user, or null for "known to be absent"; groups likewise. */
export interface SystemFixture {
  platform?: Users["platform"];
  self?: string;
  users: Record<string, UserFixture | null>;
  groups: Record<string, number | null>;
}

function known<T>(table: Record<string, T | null>, name: string, what: string): T | undefined {
  if (!(name in table))
    throw new Error(`fixture has no ${what} "${name}" (list it, or null for absent)`);
  return table[name] ?? undefined;
}

/** Options of a command line: flags that take a value, flags alone, and the words left. */
function options(args: string[], valued: string[]): { opts: Map<string, string>; words: string[] } {
  const opts = new Map<string, string>(),
    words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (valued.includes(a)) opts.set(a, args[++i]!);
    else if (a.startsWith("-") && a !== "-") opts.set(a, "");
    else words.push(a);
  }
  return { opts, words };
}

/**
 * A users database in memory; an Exec that applies shadow-utils commands (useradd, usermod, userdel,
 * groupadd, groupmod, groupdel, gpasswd -M, chpasswd -e) and busybox's (adduser, addgroup, deluser,
 * delgroup) to it; and the /etc/passwd, /etc/group and /etc/shadow a probe reads, written from it.
 * A command it does not know, or one that the real tool would refuse in the ways modelled here, fails.
 */
export function fakeSystem(fx: SystemFixture): {
  users: Users;
  exec: Exec;
  log: string[][];
  files(path: string): string | undefined;
} {
  const log: string[][] = [];
  let next = 5000;
  const gidOf = (g: string) => (/^\d+$/.test(g) ? Number(g) : fx.groups[g]);
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
  const fail = (output: string) => ({ rc: 1, output });
  const setMembers = (group: string, members: string[]) => {
    for (const [n, u] of Object.entries(fx.users)) {
      if (!u) continue;
      const has = (u.groups ?? []).includes(group);
      if (members.includes(n) && !has) u.groups = [...(u.groups ?? []), group];
      if (!members.includes(n) && has) u.groups = u.groups!.filter((g) => g !== group);
    }
  };
  const exec: Exec = async (argv, opts = {}) => {
    log.push(argv);
    const [cmd, ...rest] = argv;
    if (cmd === "chpasswd") {
      const [name, hash] = (opts.stdin ?? "").trim().split(":");
      if (rest[0] !== "-e" || !fx.users[name!]) return fail(`chpasswd: bad input`);
      fx.users[name!]!.password = hash;
      return { rc: 0, output: "" };
    }
    const { opts: o, words } = options(rest, [
      "--gid",
      "--uid",
      "--groups",
      "-G",
      "--home-dir",
      "--home",
      "--shell",
      "--comment",
      "-M",
      "-u",
      "-g",
      "-h",
      "-s",
    ]);
    const name = words[words.length - 1]!;
    const groupList = (v: string | undefined) => (v ? v.split(",") : []);
    if (cmd === "groupadd" || (cmd === "addgroup" && words.length === 1)) {
      if (fx.groups[name] != null) return fail(`${cmd}: group '${name}' already exists`);
      const gid = o.get("--gid") ?? o.get("-g");
      fx.groups[name] = gid ? Number(gid) : next++;
    } else if (cmd === "addgroup" || (cmd === "delgroup" && words.length === 2)) {
      const [u, g] = words as [string, string];
      if (!fx.users[u] || fx.groups[g] == null) return fail(`${cmd}: no such user or group`);
      const groups = fx.users[u]!.groups ?? [];
      fx.users[u]!.groups =
        cmd === "addgroup" ? [...new Set([...groups, g])] : groups.filter((x) => x !== g);
    } else if (cmd === "groupmod") {
      if (fx.groups[name] == null) return fail(`groupmod: group '${name}' does not exist`);
      fx.groups[name] = Number(o.get("--gid"));
    } else if (cmd === "groupdel" || cmd === "delgroup") {
      if (fx.groups[name] == null) return fail(`${cmd}: group '${name}' does not exist`);
      fx.groups[name] = null;
      setMembers(name, []);
    } else if (cmd === "gpasswd") {
      if (fx.groups[name] == null) return fail(`gpasswd: group '${name}' does not exist`);
      setMembers(name, groupList(o.get("-M")));
    } else if (cmd === "useradd" || cmd === "adduser") {
      if (fx.users[name]) return fail(`${cmd}: user '${name}' already exists`);
      const g = o.get("--gid") ?? o.get("-G");
      const gid = g === undefined ? undefined : gidOf(g);
      if (g !== undefined && gid == null) return fail(`${cmd}: group '${g}' does not exist`);
      const uid = o.get("--uid") ?? o.get("-u");
      fx.users[name] = {
        uid: uid ? Number(uid) : next++,
        gid: gid ?? next++,
        groups: cmd === "useradd" ? groupList(o.get("--groups")) : [],
        home: o.get("--home-dir") ?? o.get("-h") ?? `/home/${name}`,
        shell: o.get("--shell") ?? o.get("-s") ?? "/bin/sh",
        comment: o.get("--comment") ?? o.get("-g") ?? "",
        password: "!",
      };
    } else if (cmd === "usermod") {
      const u = fx.users[name];
      if (!u) return fail(`usermod: user '${name}' does not exist`);
      if (o.has("--uid")) u.uid = Number(o.get("--uid"));
      if (o.has("--gid")) u.gid = gidOf(o.get("--gid")!) ?? u.gid;
      if (o.has("--groups") || o.has("-G")) u.groups = groupList(o.get("--groups") ?? o.get("-G"));
      if (o.has("--home")) u.home = o.get("--home")!;
      if (o.has("--shell")) u.shell = o.get("--shell")!;
      if (o.has("--comment")) u.comment = o.get("--comment")!;
    } else if (cmd === "userdel" || cmd === "deluser") {
      if (!fx.users[name]) return fail(`${cmd}: user '${name}' does not exist`);
      fx.users[name] = null;
    } else throw new Error(`fake exec does not know ${argv.join(" ")}`);
    return { rc: 0, output: "" };
  };
  const files = (path: string): string | undefined => {
    const us = Object.entries(fx.users).filter((e): e is [string, UserFixture] => e[1] !== null);
    if (path === "/etc/passwd")
      return us
        .map(
          ([n, u]) =>
            `${n}:x:${u.uid}:${u.gid}:${u.comment ?? ""}:${u.home ?? `/home/${n}`}:${u.shell ?? "/bin/sh"}\n`,
        )
        .join("");
    if (path === "/etc/shadow")
      return us.map(([n, u]) => `${n}:${u.password ?? "!"}:19000:0:99999:7:::\n`).join("");
    if (path === "/etc/group") {
      return Object.entries(fx.groups)
        .filter(([, g]) => g !== null)
        .map(
          ([g, gid]) =>
            `${g}:x:${gid}:${us
              .filter(([, u]) => u.groups?.includes(g))
              .map(([n]) => n)
              .join(",")}\n`,
        )
        .join("");
    }
    return undefined;
  };
  return { users, exec, log, files };
}

/** `inner`, but the users files answered from a fake system. */
export function systemProbe(inner: Probe, files: (path: string) => string | undefined): Probe {
  return {
    run: (argv, o) => inner.run(argv, o),
    read: async (path) => files(path) ?? inner.read(path),
  };
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
      if (!fx.files || !Object.hasOwn(fx.files, path))
        throw new Error(`fake probe: no file ${path} in the fixture`);
      return fx.files[path] ?? undefined;
    },
  };
}
