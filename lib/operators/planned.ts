// A dry run's planned world: what the earlier operations of the run would
// have made, laid over the Observe and Users ports, so that a later call plans
// against it. useradd("svc") then makedirs("/srv/x", { user: "svc" }) is two
// planned changes, not "no such user"; a directory makedirs planned is not
// planned again by a later copy; lineInFile edits the file a render planned.
// It is fed by each successful plan's changes (record) and used only in a dry
// run (operators/index.ts); it never writes. Planned users and groups get ids
// below zero (shown by name); a planned file's content is known when the plan
// held it (render, lineInFile, small copies), not for a file still to fetch.
// What a shell() command would do is not known and not modelled.

import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import type { Observe, Stat, TreeItem, UserInfo, Users } from "../sys/types.ts";
import { realPath } from "./_paths.ts";
import type { Accounts, Change, Plan } from "./types.ts";

interface Entry {
  st: Stat;
  /** Made by the plan: nothing of the real disk lies below it. Else only its metadata is planned (chmod, chown, utime). */
  fresh: boolean;
  hash?: string;
  data?: Uint8Array;
  target?: string;
}

/** Where a path stands: planned (an entry), planned absent (null), or real (look at the disk, at `path`). */
type Found = { path: string; entry: Entry | null | undefined };

const MAX_LINKS = 16;

function planned(
  type: Stat["type"],
  o: { mode?: number; uid?: number; gid?: number; size?: number; mtimeNs?: string },
): Stat {
  const mtimeNs = o.mtimeNs ? BigInt(o.mtimeNs) : 0n;
  return {
    type,
    mode: o.mode ?? 0o777,
    uid: o.uid ?? -1,
    gid: o.gid ?? -1,
    size: o.size ?? 0,
    mtimeNs,
    ctimeNs: mtimeNs,
    dev: 0n,
    ino: 0n,
  };
}

function item(path: string, e: Entry): TreeItem {
  const { st } = e;
  const type = st.type === "other" ? "file" : st.type;
  return {
    path,
    type,
    size: st.size,
    mtimeNs: String(st.mtimeNs),
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    ...(e.target ? { target: e.target } : {}),
  };
}

/** The attributes a user command sets that the Users port does not say (home, shell, comment, password). */
function pick(a: Accounts): NonNullable<UserInfo["planned"]> {
  const out: NonNullable<UserInfo["planned"]> = {};
  for (const k of ["home", "shell", "comment", "passwordId"] as const)
    if (a[k] !== undefined) out[k] = a[k];
  return out;
}

export class PlannedWorld {
  private readonly paths = new Map<string, Entry | null>();
  private readonly users = new Map<string, UserInfo>();
  private readonly groups = new Map<string, number>();
  private readonly members = new Map<string, string[]>();
  /** Removed by a planned userdel/groupdel. */
  private readonly goneUsers = new Set<string>();
  private readonly goneGroups = new Set<string>();
  private nextId = -2;
  readonly observe: Observe;
  readonly accounts: Users;

  constructor(private readonly real: { observe: Observe; users: Users; pathPrefix: string }) {
    this.observe = this.overObserve(real.observe);
    this.accounts = this.overUsers(real.users);
  }

  /** The nearest planned path at or above `path`, following planned symlinks on the way. */
  private find(path: string, hops = 0): Found {
    if (this.paths.size === 0) return { path, entry: undefined };
    for (let p = path; ; p = posix.dirname(p)) {
      const e = this.paths.get(p);
      if (e !== undefined) {
        if (p === path) return { path, entry: e };
        if (e === null || (e.fresh && e.st.type !== "symlink")) return { path, entry: null };
        if (e.st.type === "symlink" && hops < MAX_LINKS)
          return this.find(posix.join(this.linkTarget(p, e), posix.relative(p, path)), hops + 1);
        return { path, entry: undefined };
      }
      if (p === "/") return { path, entry: undefined };
    }
  }

  private linkTarget(link: string, e: Entry): string {
    return posix.resolve(posix.dirname(link), e.target ?? "");
  }

  private async lstat(path: string): Promise<Stat | undefined> {
    const f = this.find(path);
    return f.entry === undefined ? this.real.observe.lstat(f.path) : (f.entry?.st ?? undefined);
  }

  private async stat(path: string, hops = 0): Promise<Stat | undefined> {
    const f = this.find(path);
    if (f.entry === undefined) return this.real.observe.stat(f.path);
    if (f.entry?.st.type === "symlink" && hops < MAX_LINKS)
      return this.stat(this.linkTarget(f.path, f.entry), hops + 1);
    return f.entry?.st;
  }

  private overObserve(o: Observe): Observe {
    const entry = (path: string) => this.find(path);
    return {
      lstat: (path) => this.lstat(path),
      stat: (path) => this.stat(path),
      async readlink(path) {
        const f = entry(path);
        return f.entry?.target ?? o.readlink(f.path);
      },
      async read(path) {
        const f = entry(path);
        if (f.entry === undefined || (f.entry && !f.entry.fresh)) return o.read(f.path);
        if (f.entry?.data) return f.entry.data;
        throw new SaltyError(
          `${path}: what an earlier command of this dry run puts there is not known until it is fetched`,
          "E_DRY_RUN",
        );
      },
      async hash(path, st) {
        const f = entry(path);
        if (f.entry === undefined || (f.entry && !f.entry.fresh)) return o.hash(f.path, st);
        return f.entry?.hash ?? `planned:${path}`;
      },
      remember: (path, hash) => o.remember(path, hash),
      walk: (dir) => this.walk(dir),
    };
  }

  /** The real walk of `dir` with what is planned below it laid over it (parents still first). */
  private async walk(dir: string, hops = 0): Promise<TreeItem[]> {
    const f = this.find(dir);
    if (f.entry === null) return [];
    if (f.entry?.st.type === "symlink" && hops < MAX_LINKS)
      return this.walk(this.linkTarget(f.path, f.entry), hops + 1);
    const base = f.path;
    const realToo = !f.entry?.fresh;
    const below = (p: string) => p.startsWith(`${base}/`);
    if (realToo && ![...this.paths.keys()].some(below)) return this.real.observe.walk(base);
    const items = new Map<string, TreeItem>();
    if (realToo) {
      for (const it of await this.real.observe.walk(base)) {
        const e = this.find(`${base}/${it.path}`).entry;
        if (e !== null) items.set(it.path, e ? item(it.path, e) : it);
      }
    }
    for (const [p, e] of this.paths) {
      if (e?.fresh && below(p) && this.find(p).entry === e)
        items.set(p.slice(base.length + 1), item(p.slice(base.length + 1), e));
    }
    return [...items.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private overUsers(u: Users): Users {
    const byUid = (uid: number) => [...this.users.values()].find((x) => x.uid === uid)?.name;
    const byGid = (gid: number) => [...this.groups].find(([, g]) => g === gid)?.[0];
    return {
      platform: u.platform,
      self: () => u.self(),
      user: async (name) =>
        this.goneUsers.has(name) ? undefined : (this.users.get(name) ?? u.user(name)),
      group: async (name) =>
        this.goneGroups.has(name) ? undefined : (this.groups.get(name) ?? u.group(name)),
      userName: async (uid) => byUid(uid) ?? u.userName(uid),
      groupName: async (gid) => byGid(gid) ?? u.groupName(gid),
      groupsOf: async (name) =>
        this.members.get(name) ?? (this.users.has(name) ? [] : u.groupsOf(name)),
      freeId: (system) => u.freeId(system),
      invalidate: () => u.invalidate(),
    };
  }

  /** What a successful plan would have done, from now on seen by the ports above. */
  async record(plan: Plan): Promise<void> {
    for (const c of plan.changes) await this.recordOne(c, plan.blobs);
  }

  private async recordOne(c: Change, blobs: Plan["blobs"]): Promise<void> {
    if (c.kind === "exec") return c.accounts ? this.recordAccounts(c.accounts) : undefined;
    const real = realPath(this.real, c.path);
    switch (c.kind) {
      case "mkdir":
        return void this.paths.set(real, { st: planned("dir", c), fresh: true });
      case "write":
        return void this.paths.set(real, {
          st: planned("file", c),
          fresh: true,
          hash: c.hash,
          ...(blobs?.has(c.hash) ? { data: blobs.get(c.hash)! } : {}),
        });
      case "fetch":
        return void this.paths.set(real, {
          st: planned("file", c),
          fresh: true,
          ...(c.hash ? { hash: c.hash } : {}),
        });
      case "download":
        return void this.paths.set(real, {
          st: planned("file", { ...c, size: 0 }),
          fresh: true,
          ...(c.sha256 ? { hash: c.sha256 } : {}),
        });
      case "unarchive":
        return; // what it extracts is not known before it runs; its marker says so on the next plan
      case "symlink":
        return void this.paths.set(real, {
          st: planned("symlink", { ...c, size: c.target.length }),
          fresh: true,
          target: c.target,
        });
      case "remove":
        for (const p of [...this.paths.keys()]) if (p.startsWith(`${real}/`)) this.paths.delete(p);
        return void this.paths.set(real, null);
      case "chmod":
        return this.amend(real, (st) => ({ ...st, mode: c.mode }));
      case "chown":
        return this.amend(real, (st) => ({ ...st, uid: c.uid, gid: c.gid }));
      case "utime":
        return this.amend(real, (st) => ({ ...st, mtimeNs: BigInt(c.mtimeNs) }));
    }
  }

  /** A metadata change to what is there (planned, or real: then only its metadata is planned). */
  private async amend(real: string, fix: (st: Stat) => Stat): Promise<void> {
    const f = this.find(real);
    if (f.entry) return void this.paths.set(real, { ...f.entry, st: fix(f.entry.st) });
    const st = f.entry === null ? undefined : await this.real.observe.lstat(f.path);
    if (st) this.paths.set(real, { st: fix(st), fresh: false });
  }

  private async recordAccounts(a: Accounts): Promise<void> {
    if (a.removed) {
      if (a.user)
        this.users.delete(a.user), this.members.delete(a.user), this.goneUsers.add(a.user);
      else if (a.group) this.groups.delete(a.group), this.goneGroups.add(a.group);
      return;
    }
    if (a.group && (await this.accounts.group(a.group)) === undefined) {
      this.goneGroups.delete(a.group);
      this.groups.set(a.group, a.user ? this.nextId-- : (a.gid ?? this.nextId--));
    } else if (a.group && !a.user && a.gid !== undefined) this.groups.set(a.group, a.gid);
    const was = a.user ? await this.accounts.user(a.user) : undefined;
    if (a.user) {
      const gid = a.group ? await this.accounts.group(a.group) : was?.gid;
      this.goneUsers.delete(a.user);
      const attrs = { ...was?.planned, ...pick(a) };
      const changed =
        !was || a.uid !== undefined || gid !== was.gid || Object.keys(pick(a)).length > 0;
      if (changed)
        this.users.set(a.user, {
          name: a.user,
          uid: a.uid ?? was?.uid ?? this.nextId--,
          gid: gid ?? this.nextId--,
          planned: attrs,
        });
    }
    if (a.user && a.groups) this.members.set(a.user, [...a.groups].sort());
    for (const u of a.join ?? [])
      this.members.set(u, [...new Set([...(await this.accounts.groupsOf(u)), a.group!])].sort());
    for (const u of a.leave ?? [])
      this.members.set(
        u,
        (await this.accounts.groupsOf(u)).filter((g) => g !== a.group),
      );
  }
}
