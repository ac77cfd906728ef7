// The commands that create users and set their groups on each platform:
// shadow-utils (useradd/groupadd/usermod), busybox (Alpine's adduser/addgroup)
// and macOS (dscl, dseditgroup). Pure: argv lists only, no I/O.

import type { Users } from "../sys/types.ts";

type Platform = Users["platform"];

export interface UserState {
  userExists: boolean;
  groupExists: boolean;
  /** macOS: the gid of the existing group. */
  gid?: number;
  /** macOS: the id for a new user and its new group (the same number). */
  freeId?: number;
}

/** Commands to make a user and a group of that name exist. */
export function useraddCommands(
  platform: Platform,
  name: string,
  system: boolean,
  s: UserState,
): string[][] {
  if (platform === "linux") {
    const out: string[][] = [];
    if (!s.groupExists) out.push(["groupadd", ...(system ? ["--system"] : []), name]);
    if (!s.userExists)
      out.push(["useradd", ...(system ? ["--system"] : ["--create-home"]), "--gid", name, name]);
    return out;
  }
  if (platform === "busybox") {
    const out: string[][] = [];
    if (!s.groupExists) out.push(["addgroup", ...(system ? ["-S"] : []), name]);
    if (!s.userExists)
      out.push(["adduser", "-D", ...(system ? ["-S", "-H"] : []), "-G", name, name]);
    return out;
  }
  const id = String(s.freeId ?? 0);
  const out: string[][] = [];
  if (!s.groupExists) {
    out.push(
      ["dscl", ".", "-create", `/Groups/${name}`],
      ["dscl", ".", "-create", `/Groups/${name}`, "PrimaryGroupID", id],
    );
  }
  if (!s.userExists) {
    const user = `/Users/${name}`;
    const gid = s.groupExists ? String(s.gid) : id;
    out.push(
      ["dscl", ".", "-create", user],
      ["dscl", ".", "-create", user, "UniqueID", id],
      ["dscl", ".", "-create", user, "PrimaryGroupID", gid],
      ["dscl", ".", "-create", user, "UserShell", "/usr/bin/false"],
      ["dscl", ".", "-create", user, "NFSHomeDirectory", "/var/empty"],
      ["dscl", ".", "-create", user, "RealName", name],
    );
  }
  return out;
}

/** Commands that make `name`'s supplementary groups go from `have` to `want`. */
export function usergroupsCommands(
  platform: Platform,
  name: string,
  have: string[],
  want: string[],
): string[][] {
  const add = want.filter((g) => !have.includes(g));
  const drop = have.filter((g) => !want.includes(g));
  if (add.length === 0 && drop.length === 0) return [];
  if (platform === "linux") return [["usermod", "-G", want.join(","), name]];
  if (platform === "busybox")
    return [...add.map((g) => ["addgroup", name, g]), ...drop.map((g) => ["delgroup", name, g])];
  return [
    ...add.map((g) => ["dseditgroup", "-o", "edit", "-a", name, "-t", "user", g]),
    ...drop.map((g) => ["dseditgroup", "-o", "edit", "-d", name, "-t", "user", g]),
  ];
}
