// Users and groups in full (user(), group()): what differs between an
// account and what a role asks (the files are parsed in _account-files.ts),
// and the commands that close the gap on each platform: shadow-utils
// (useradd/usermod/userdel, groupadd/groupmod/groupdel, gpasswd), busybox
// (Alpine: adduser/addgroup/deluser/delgroup; it has no usermod or groupmod,
// so uid, gid, home, shell and comment of an existing account cannot be
// changed there) and macOS (dscl, dseditgroup). Pure: text in, argv out.
// A password is a crypt hash; it is set with `chpasswd -e` on stdin, so it is
// in no argv (ps) and no output.

import { SaltyError } from "../errors.ts";
import type { Users } from "../sys/types.ts";
import type { Accounts, Change } from "./types.ts";

type Platform = Users["platform"];

/** A command of a plan: its argv and, for chpasswd, what it reads on stdin (never shown). */
export interface Cmd {
  argv: string[];
  stdin?: string;
}

/** What the role asks of a user, checked. Undefined fields are left as they are. */
export interface UserSpec {
  name: string;
  uid?: number;
  /** Primary group name. */
  group?: string;
  groups?: string[];
  home?: string;
  shell?: string;
  comment?: string;
  password?: string;
  system: boolean;
  createHome: boolean;
}

/** A user as it is. `password` only when the role gave one (it is read from /etc/shadow then). */
export interface UserNow {
  uid: number;
  gid: number;
  home: string;
  shell: string;
  comment: string;
  groups: string[];
  password?: string;
}

/** What must change on an existing user; empty when nothing. `gid`: the wanted primary gid, resolved. */
export interface UserDiff {
  uid?: number;
  group?: string;
  home?: string;
  shell?: string;
  comment?: string;
  password?: string;
  groups?: { want: string[]; add: string[]; drop: string[] };
}

export function userDiff(spec: UserSpec, now: UserNow, wantGid: number | undefined): UserDiff {
  const d: UserDiff = {};
  if (spec.uid !== undefined && spec.uid !== now.uid) d.uid = spec.uid;
  if (spec.group !== undefined && wantGid !== now.gid) d.group = spec.group;
  if (spec.home !== undefined && spec.home !== now.home) d.home = spec.home;
  if (spec.shell !== undefined && spec.shell !== now.shell) d.shell = spec.shell;
  if (spec.comment !== undefined && spec.comment !== now.comment) d.comment = spec.comment;
  if (spec.password !== undefined && spec.password !== now.password) d.password = spec.password;
  if (spec.groups) {
    const add = spec.groups.filter((g) => !now.groups.includes(g));
    const drop = now.groups.filter((g) => !spec.groups!.includes(g));
    if (add.length || drop.length) d.groups = { want: spec.groups, add, drop };
  }
  return d;
}

/** The attribute names a diff changes, for the note and the summary (never a value: a password may be among them). */
export function diffWords(d: UserDiff): string[] {
  return (["uid", "group", "home", "shell", "comment", "password", "groups"] as const).filter(
    (k) => d[k] !== undefined,
  );
}

const chpasswd = (name: string, hash: string): Cmd => ({
  argv: ["chpasswd", "-e"],
  stdin: `${name}:${hash}\n`,
});

/** Commands for a new user. `group`: its primary group (made first when `makeGroup`); `ids`: macOS's chosen ids. */
export function userCreate(
  platform: Platform,
  s: UserSpec,
  group: string,
  makeGroup: boolean,
  ids: { uid?: number; gid?: number } = {},
): Cmd[] {
  const out: Cmd[] = [];
  if (platform === "linux") {
    if (makeGroup) out.push({ argv: ["groupadd", ...(s.system ? ["--system"] : []), group] });
    out.push({
      argv: [
        "useradd",
        ...(s.system ? ["--system"] : []),
        ...(s.uid !== undefined ? ["--uid", String(s.uid)] : []),
        "--gid",
        group,
        ...(s.groups?.length ? ["--groups", s.groups.join(",")] : []),
        ...(s.home !== undefined ? ["--home-dir", s.home] : []),
        ...(s.shell !== undefined ? ["--shell", s.shell] : []),
        ...(s.comment !== undefined ? ["--comment", s.comment] : []),
        s.createHome ? "--create-home" : "--no-create-home",
        s.name,
      ],
    });
  } else if (platform === "busybox") {
    if (makeGroup) out.push({ argv: ["addgroup", ...(s.system ? ["-S"] : []), group] });
    out.push({
      argv: [
        "adduser",
        "-D",
        ...(s.system ? ["-S"] : []),
        ...(s.createHome ? [] : ["-H"]),
        ...(s.uid !== undefined ? ["-u", String(s.uid)] : []),
        "-G",
        group,
        ...(s.home !== undefined ? ["-h", s.home] : []),
        ...(s.shell !== undefined ? ["-s", s.shell] : []),
        ...(s.comment !== undefined ? ["-g", s.comment] : []),
        s.name,
      ],
    });
    for (const g of s.groups ?? []) out.push({ argv: ["addgroup", s.name, g] });
  } else {
    const uid = String(ids.uid ?? 0),
      gid = String(ids.gid ?? 0);
    if (makeGroup)
      out.push(
        { argv: ["dscl", ".", "-create", `/Groups/${group}`] },
        { argv: ["dscl", ".", "-create", `/Groups/${group}`, "PrimaryGroupID", gid] },
      );
    const u = `/Users/${s.name}`;
    const home = s.home ?? (s.system ? "/var/empty" : u);
    out.push(
      { argv: ["dscl", ".", "-create", u] },
      { argv: ["dscl", ".", "-create", u, "UniqueID", uid] },
      { argv: ["dscl", ".", "-create", u, "PrimaryGroupID", gid] },
      { argv: ["dscl", ".", "-create", u, "UserShell", s.shell ?? "/usr/bin/false"] },
      { argv: ["dscl", ".", "-create", u, "NFSHomeDirectory", home] },
      { argv: ["dscl", ".", "-create", u, "RealName", s.comment ?? s.name] },
    );
    if (s.createHome) out.push({ argv: ["createhomedir", "-c", "-u", s.name] });
    for (const g of s.groups ?? [])
      out.push({ argv: ["dseditgroup", "-o", "edit", "-a", s.name, "-t", "user", g] });
  }
  if (s.password !== undefined) out.push(chpasswd(s.name, s.password));
  return out;
}

/** Commands that bring an existing user to `d`. `gid`: the wanted primary gid (macOS). */
export function userModify(platform: Platform, name: string, d: UserDiff, gid?: number): Cmd[] {
  const out: Cmd[] = [];
  if (platform === "linux") {
    const argv = [
      ...(d.uid !== undefined ? ["--uid", String(d.uid)] : []),
      ...(d.group !== undefined ? ["--gid", d.group] : []),
      ...(d.groups ? ["--groups", d.groups.want.join(",")] : []),
      ...(d.home !== undefined ? ["--home", d.home] : []),
      ...(d.shell !== undefined ? ["--shell", d.shell] : []),
      ...(d.comment !== undefined ? ["--comment", d.comment] : []),
    ];
    if (argv.length) out.push({ argv: ["usermod", ...argv, name] });
  } else if (platform === "busybox") {
    const fixed = (["uid", "group", "home", "shell", "comment"] as const).filter(
      (k) => d[k] !== undefined,
    );
    if (fixed.length)
      throw new SaltyError(
        `busybox has no usermod: the ${fixed.join(", ")} of the existing user ${name} cannot be changed (deluser, then user() again)`,
        "E_UNSUPPORTED",
      );
    for (const g of d.groups?.add ?? []) out.push({ argv: ["addgroup", name, g] });
    for (const g of d.groups?.drop ?? []) out.push({ argv: ["delgroup", name, g] });
  } else {
    const u = `/Users/${name}`;
    if (d.uid !== undefined)
      out.push({ argv: ["dscl", ".", "-create", u, "UniqueID", String(d.uid)] });
    if (d.group !== undefined)
      out.push({ argv: ["dscl", ".", "-create", u, "PrimaryGroupID", String(gid)] });
    if (d.home !== undefined)
      out.push({ argv: ["dscl", ".", "-create", u, "NFSHomeDirectory", d.home] });
    if (d.shell !== undefined)
      out.push({ argv: ["dscl", ".", "-create", u, "UserShell", d.shell] });
    if (d.comment !== undefined)
      out.push({ argv: ["dscl", ".", "-create", u, "RealName", d.comment] });
    for (const g of d.groups?.add ?? [])
      out.push({ argv: ["dseditgroup", "-o", "edit", "-a", name, "-t", "user", g] });
    for (const g of d.groups?.drop ?? [])
      out.push({ argv: ["dseditgroup", "-o", "edit", "-d", name, "-t", "user", g] });
  }
  if (d.password !== undefined) out.push(chpasswd(name, d.password));
  return out;
}

export function userDelete(platform: Platform, name: string): Cmd[] {
  if (platform === "linux") return [{ argv: ["userdel", name] }];
  if (platform === "busybox") return [{ argv: ["deluser", name] }];
  return [{ argv: ["dscl", ".", "-delete", `/Users/${name}`] }];
}

/** Commands for a new group (gid: macOS's chosen one when none was asked). */
export function groupCreate(
  platform: Platform,
  name: string,
  o: { gid?: number; system: boolean; members: string[] },
  freeGid?: number,
): Cmd[] {
  if (platform === "linux") {
    const out: Cmd[] = [
      {
        argv: [
          "groupadd",
          ...(o.system ? ["--system"] : []),
          ...(o.gid !== undefined ? ["--gid", String(o.gid)] : []),
          name,
        ],
      },
    ];
    if (o.members.length) out.push({ argv: ["gpasswd", "-M", o.members.join(","), name] });
    return out;
  }
  if (platform === "busybox") {
    return [
      {
        argv: [
          "addgroup",
          ...(o.system ? ["-S"] : []),
          ...(o.gid !== undefined ? ["-g", String(o.gid)] : []),
          name,
        ],
      },
      ...o.members.map((m) => ({ argv: ["addgroup", m, name] })),
    ];
  }
  const g = `/Groups/${name}`;
  return [
    { argv: ["dscl", ".", "-create", g] },
    { argv: ["dscl", ".", "-create", g, "PrimaryGroupID", String(o.gid ?? freeGid ?? 0)] },
    ...o.members.map((m) => ({ argv: ["dseditgroup", "-o", "edit", "-a", m, "-t", "user", name] })),
  ];
}

/** Commands that bring an existing group to its gid and exact members. */
export function groupModify(
  platform: Platform,
  name: string,
  gid: number | undefined,
  members: { want: string[]; add: string[]; drop: string[] } | undefined,
): Cmd[] {
  const out: Cmd[] = [];
  if (platform === "linux") {
    if (gid !== undefined) out.push({ argv: ["groupmod", "--gid", String(gid), name] });
    if (members) out.push({ argv: ["gpasswd", "-M", members.want.join(","), name] });
    return out;
  }
  if (platform === "busybox") {
    if (gid !== undefined)
      throw new SaltyError(
        `busybox has no groupmod: the gid of the existing group ${name} cannot be changed`,
        "E_UNSUPPORTED",
      );
    return [
      ...(members?.add ?? []).map((m) => ({ argv: ["addgroup", m, name] })),
      ...(members?.drop ?? []).map((m) => ({ argv: ["delgroup", m, name] })),
    ];
  }
  if (gid !== undefined)
    out.push({ argv: ["dscl", ".", "-create", `/Groups/${name}`, "PrimaryGroupID", String(gid)] });
  out.push(
    ...(members?.add ?? []).map((m) => ({
      argv: ["dseditgroup", "-o", "edit", "-a", m, "-t", "user", name],
    })),
  );
  out.push(
    ...(members?.drop ?? []).map((m) => ({
      argv: ["dseditgroup", "-o", "edit", "-d", m, "-t", "user", name],
    })),
  );
  return out;
}

export function groupDelete(platform: Platform, name: string): Cmd[] {
  if (platform === "linux") return [{ argv: ["groupdel", name] }];
  if (platform === "busybox") return [{ argv: ["delgroup", name] }];
  return [{ argv: ["dscl", ".", "-delete", `/Groups/${name}`] }];
}

/** The commands as exec changes; the last one says what they make, for a dry run's planned world (planned.ts). */
export function toChanges(cmds: Cmd[], accounts: Accounts): Change[] {
  return cmds.map((c, i) => ({
    kind: "exec" as const,
    argv: c.argv,
    ...(c.stdin !== undefined ? { stdin: c.stdin } : {}),
    ...(i === cmds.length - 1 ? { accounts } : {}),
  }));
}
