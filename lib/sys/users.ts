// The real Users port: look up users and groups of the live system (never
// under --path). Linux reads /etc/passwd and /etc/group (re-read when they
// change, looked at once a second at most; `getent` for names found nowhere
// else, e.g. LDAP); macOS asks dscl.
// It only reads: user and group changes are commands the operators plan.

import { existsSync, readFileSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { timing } from "../constants.ts";
import { SaltyError } from "../errors.ts";
import type { UserInfo, Users } from "./types.ts";
import { childEnv } from "./child-env.ts";

interface Db {
  users: Map<string, UserInfo>;
  groups: Map<string, { gid: number; members: string[] }>;
}

/** Parse /etc/passwd and /etc/group text (pure). */
export function parseDb(passwd: string, group: string): Db {
  const users = new Map<string, UserInfo>();
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name && uid !== undefined && gid !== undefined && !name.startsWith("#"))
      users.set(name, { name, uid: Number(uid), gid: Number(gid) });
  }
  const groups = new Map<string, { gid: number; members: string[] }>();
  for (const line of group.split("\n")) {
    const [name, , gid, members] = line.split(":");
    if (name && gid !== undefined && !name.startsWith("#"))
      groups.set(name, { gid: Number(gid), members: (members ?? "").split(",").filter(Boolean) });
  }
  return { users, groups };
}

function run(argv: string[]): string | undefined {
  const r = Bun.spawnSync(argv, { env: childEnv(), stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 ? r.stdout.toString() : undefined;
}

class LinuxUsers implements Users {
  readonly platform =
    existsSync("/usr/sbin/useradd") || existsSync("/sbin/useradd")
      ? ("linux" as const)
      : ("busybox" as const);
  private db: Db | undefined;
  private me: UserInfo | undefined;
  private key = "";
  private checked = 0;

  /** The parsed files, re-read when their mtimes change (looked at no more than every usersRecheckMs). */
  private load(): Db {
    const now = performance.now();
    if (this.db && now - this.checked < timing.usersRecheckMs) return this.db;
    this.checked = now;
    const key = ["/etc/passwd", "/etc/group"]
      .map((f) => String(statSync(f, { bigint: true }).mtimeNs))
      .join(":");
    if (!this.db || key !== this.key) {
      this.db = parseDb(readFileSync("/etc/passwd", "utf8"), readFileSync("/etc/group", "utf8"));
      this.key = key;
      this.me = undefined;
    }
    return this.db;
  }

  async self(): Promise<UserInfo> {
    const db = this.load();
    if (this.me) return this.me;
    const uid = process.getuid!();
    for (const u of db.users.values()) if (u.uid === uid) return (this.me = u);
    return (this.me = { name: userInfo().username, uid, gid: process.getgid!() });
  }

  async user(name: string): Promise<UserInfo | undefined> {
    const found = this.load().users.get(name);
    if (found) return found;
    const [, , uid, gid] = (run(["getent", "passwd", name]) ?? "").trim().split(":");
    return uid && gid ? { name, uid: Number(uid), gid: Number(gid) } : undefined;
  }

  async group(name: string): Promise<number | undefined> {
    const found = this.load().groups.get(name);
    if (found) return found.gid;
    const gid = (run(["getent", "group", name]) ?? "").trim().split(":")[2];
    return gid ? Number(gid) : undefined;
  }

  async userName(uid: number): Promise<string | undefined> {
    for (const u of this.load().users.values()) if (u.uid === uid) return u.name;
    return (run(["getent", "passwd", String(uid)]) ?? "").split(":")[0] || undefined;
  }

  async groupName(gid: number): Promise<string | undefined> {
    for (const [name, g] of this.load().groups) if (g.gid === gid) return name;
    return (run(["getent", "group", String(gid)]) ?? "").split(":")[0] || undefined;
  }

  async groupsOf(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const [g, info] of this.load().groups) if (info.members.includes(name)) out.push(g);
    return out.sort();
  }

  async freeId(): Promise<number> {
    throw new SaltyError("freeId is only needed on macOS", "E_UNSUPPORTED");
  }

  invalidate(): void {
    this.db = undefined;
  }
}

/** macOS: Directory Services through dscl, cached until invalidate(). */
class DarwinUsers implements Users {
  readonly platform = "darwin" as const;
  private memo = new Map<string, string | undefined>();

  private dscl(...args: string[]): string | undefined {
    const key = args.join("\0");
    if (!this.memo.has(key)) this.memo.set(key, run(["dscl", ".", ...args]));
    return this.memo.get(key);
  }

  private attr(path: string, name: string): number | undefined {
    const m = (this.dscl("-read", path, name) ?? "").match(new RegExp(`${name}:\\s*(-?\\d+)`));
    return m ? Number(m[1]) : undefined;
  }

  async self(): Promise<UserInfo> {
    const info = userInfo();
    return { name: info.username, uid: info.uid, gid: info.gid };
  }

  async user(name: string): Promise<UserInfo | undefined> {
    const uid = this.attr(`/Users/${name}`, "UniqueID");
    const gid = this.attr(`/Users/${name}`, "PrimaryGroupID");
    return uid === undefined || gid === undefined ? undefined : { name, uid, gid };
  }

  async group(name: string): Promise<number | undefined> {
    return this.attr(`/Groups/${name}`, "PrimaryGroupID");
  }

  /** `dscl . -search /Users UniqueID 501` answers "name  UniqueID = (501)". */
  private search(kind: "/Users" | "/Groups", attr: string, id: number): string | undefined {
    return (this.dscl("-search", kind, attr, String(id)) ?? "").trim().split(/\s+/)[0] || undefined;
  }

  async userName(uid: number): Promise<string | undefined> {
    return this.search("/Users", "UniqueID", uid);
  }

  async groupName(gid: number): Promise<string | undefined> {
    return this.search("/Groups", "PrimaryGroupID", gid);
  }

  async groupsOf(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const line of (this.dscl("-list", "/Groups", "GroupMembership") ?? "").split("\n")) {
      const [group, ...members] = line.trim().split(/\s+/);
      if (group && members.includes(name)) out.push(group);
    }
    return out.sort();
  }

  /** The lowest id free among both uids and gids: system accounts below 500, others from 501. */
  async freeId(system: boolean): Promise<number> {
    const used = new Set<number>();
    for (const [kind, attr] of [
      ["/Users", "UniqueID"],
      ["/Groups", "PrimaryGroupID"],
    ] as const) {
      for (const line of (this.dscl("-list", kind, attr) ?? "").split("\n"))
        used.add(Number(line.trim().split(/\s+/)[1]));
    }
    for (let id = system ? 200 : 501; id < (system ? 500 : 60000); id++)
      if (!used.has(id)) return id;
    throw new SaltyError("no free user id", "E_NO_ID");
  }

  invalidate(): void {
    this.memo.clear();
  }
}

export function createUsers(): Users {
  return process.platform === "darwin" ? new DarwinUsers() : new LinuxUsers();
}
