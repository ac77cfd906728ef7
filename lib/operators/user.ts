// user(name, {uid, group, groups, home, shell, comment, system, password,
// createHome, state}): a local user exists with those attributes (only those
// given are looked at), or is absent. Planned from the live system through
// the ports (the Users port for ids and groups, the probe for /etc/passwd and,
// when a password is given, /etc/shadow), so a dry run is exact; carried out
// with the platform's commands (_accounts.ts). The primary group is `group`,
// else a group named like the user (made with it when missing, as useradd()
// does). `groups` are exactly the supplementary groups. A password is a crypt
// hash, compared with /etc/shadow and set through chpasswd's stdin: it is in
// no argv, output, error or dry run.

import type { UserOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { checkPassword, parseDscl, parsePasswd, parseShadow } from "./_account-files.ts";
import {
  diffWords,
  toChanges,
  userCreate,
  userDelete,
  userDiff,
  userModify,
  type UserNow,
  type UserSpec,
} from "./_accounts.ts";
import type { UserInfo } from "../sys/types.ts";
import type { Accounts, OpCtx, Operator, Plan } from "./types.ts";
import { checkName } from "./useradd.ts";

/** A uid or gid: a whole number the tools take. */
export function checkId(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= 4294967295)
    throw new SaltyError(
      `${what} must be a whole number from 0, not ${JSON.stringify(value)}`,
      "E_ARG",
    );
  return value;
}

/** A passwd field: one line, no ":" (it separates the fields). */
function field(value: unknown, what: string, absolute = false): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || /[:\n\r\0]/.test(value))
    throw new SaltyError(`${what} must be a string without ":" or a newline`, "E_ARG");
  if (absolute && !value.startsWith("/"))
    throw new SaltyError(`${what} must be an absolute path: ${value}`, "E_ARG");
  return value;
}

function bool(value: unknown, what: string): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean")
    throw new SaltyError(`${what} must be true or false`, "E_ARG");
  return value;
}

export function checkUserOpts(
  name: string,
  opts: UserOpts,
  platform: OpCtx["users"]["platform"],
): UserSpec {
  if (opts.state !== undefined && opts.state !== "present" && opts.state !== "absent")
    throw new SaltyError(
      `state must be "present" or "absent", not ${JSON.stringify(opts.state)}`,
      "E_ARG",
    );
  if (opts.groups !== undefined && !Array.isArray(opts.groups))
    throw new SaltyError("groups must be a list of group names", "E_ARG");
  const system = bool(opts.system, "system") ?? false;
  const spec: UserSpec = {
    name,
    system,
    createHome: bool(opts.createHome, "createHome") ?? !system,
  };
  const set = <K extends keyof UserSpec>(k: K, v: UserSpec[K] | undefined) =>
    v !== undefined && (spec[k] = v);
  set("uid", checkId(opts.uid, "uid"));
  set("group", opts.group === undefined ? undefined : checkName(opts.group, "group name"));
  set(
    "groups",
    opts.groups && [...new Set(opts.groups.map((g) => checkName(g, "group name")))].sort(),
  );
  set("home", field(opts.home, "home", true));
  set("shell", field(opts.shell, "shell", true));
  set("comment", field(opts.comment, "comment"));
  if (opts.password !== undefined) {
    if (platform === "darwin")
      throw new SaltyError(
        "password is not supported on macOS (its passwords are not crypt hashes): set it with sysadminctl",
        "E_UNSUPPORTED",
      );
    spec.password = checkPassword(opts.password);
  }
  return spec;
}

/** The user as it is: its ids and groups; /etc/passwd (or dscl on macOS) only when home, shell or comment are
 * asked, /etc/shadow only when a password is. */
async function readUser(
  ctx: OpCtx,
  name: string,
  info: UserInfo,
  spec: UserSpec,
): Promise<UserNow> {
  const groups = spec.groups ? await ctx.users.groupsOf(name) : [];
  const withPassword = spec.password !== undefined;
  // Planned or changed earlier in this dry run: what it would be then (the password by its sha256 only).
  if (info.planned || info.uid < 0) return plannedUser(ctx, name, info, spec, groups);
  if (spec.home === undefined && spec.shell === undefined && spec.comment === undefined) {
    const now: UserNow = { uid: info.uid, gid: info.gid, home: "", shell: "", comment: "", groups };
    return withPassword ? { ...now, ...(await shadowOf(ctx, name)) } : now;
  }
  if (ctx.users.platform === "darwin") {
    const r = await ctx.probe.run([
      "dscl",
      ".",
      "-read",
      `/Users/${name}`,
      "NFSHomeDirectory",
      "UserShell",
      "RealName",
    ]);
    const a = parseDscl(r.stdout);
    return {
      uid: info.uid,
      gid: info.gid,
      home: a.get("NFSHomeDirectory") ?? "",
      shell: a.get("UserShell") ?? "",
      comment: a.get("RealName") ?? "",
      groups,
    };
  }
  const entry = parsePasswd((await ctx.probe.read("/etc/passwd")) ?? "").get(name);
  if (!entry)
    throw new SaltyError(
      `${name} is not in /etc/passwd (a user from LDAP or NIS?): user() manages local users`,
      "E_NOT_LOCAL",
    );
  const now: UserNow = {
    uid: entry.uid,
    gid: entry.gid,
    home: entry.home,
    shell: entry.shell,
    comment: entry.comment,
    groups,
  };
  return withPassword ? { ...now, ...(await shadowOf(ctx, name)) } : now;
}

/** A user an earlier call of this dry run planned: what it asked, over what the system says of the rest. */
async function plannedUser(
  ctx: OpCtx,
  name: string,
  info: UserInfo,
  spec: UserSpec,
  groups: string[],
): Promise<UserNow> {
  const p = info.planned ?? {};
  const real =
    info.uid >= 0 &&
    (spec.home !== undefined || spec.shell !== undefined || spec.comment !== undefined)
      ? await readUser(ctx, name, { ...info, planned: undefined }, { ...spec, password: undefined })
      : undefined;
  const now: UserNow = {
    uid: info.uid,
    gid: info.gid,
    home: p.home ?? real?.home ?? "",
    shell: p.shell ?? real?.shell ?? "",
    comment: p.comment ?? real?.comment ?? "",
    groups,
  };
  if (spec.password !== undefined) {
    if (p.passwordId) now.password = p.passwordId === hashBytes(spec.password) ? spec.password : "";
    else if (info.uid >= 0) Object.assign(now, await shadowOf(ctx, name));
  }
  return now;
}

async function shadowOf(ctx: OpCtx, name: string): Promise<{ password?: string }> {
  const shadow = await ctx.probe.read("/etc/shadow");
  if (shadow === undefined)
    throw new SaltyError("no /etc/shadow to compare the password with", "E_PROBE");
  const hash = parseShadow(shadow).get(name);
  return hash === undefined ? {} : { password: hash };
}

/** What a dry run's planned world keeps of a user command: home, shell, comment, and the password by its sha256. */
function attrs(a: {
  home?: string;
  shell?: string;
  comment?: string;
  password?: string;
}): Accounts {
  return {
    ...(a.home !== undefined ? { home: a.home } : {}),
    ...(a.shell !== undefined ? { shell: a.shell } : {}),
    ...(a.comment !== undefined ? { comment: a.comment } : {}),
    ...(a.password !== undefined ? { passwordId: hashBytes(a.password) } : {}),
  };
}

async function missingGroups(ctx: OpCtx, names: string[]): Promise<void> {
  const missing: string[] = [];
  for (const g of names) if ((await ctx.users.group(g)) === undefined) missing.push(g);
  if (missing.length) throw new SaltyError(`no such group: ${missing.join(", ")}`, "E_NO_GROUP");
}

async function create(ctx: OpCtx, spec: UserSpec): Promise<Plan> {
  const group = spec.group ?? spec.name;
  const gid = await ctx.users.group(group);
  if (gid === undefined && spec.group !== undefined && spec.group !== spec.name)
    throw new SaltyError(`no such group: ${spec.group}`, "E_NO_GROUP");
  let ids = {};
  if (ctx.users.platform === "darwin") {
    const free = await ctx.users.freeId(spec.system);
    ids = { uid: spec.uid ?? free, gid: gid ?? free };
  }
  const cmds = userCreate(ctx.users.platform, spec, group, gid === undefined, ids);
  const home =
    spec.home ??
    (ctx.users.platform === "darwin"
      ? spec.system
        ? "/var/empty"
        : `/Users/${spec.name}`
      : `/home/${spec.name}`);
  const accounts = {
    user: spec.name,
    group,
    groups: spec.groups ?? [],
    home,
    ...attrs(spec),
    ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
  };
  return { changes: toChanges(cmds, accounts), created: true, summary: `create user ${spec.name}` };
}

export const user: Operator<[name: string, opts?: UserOpts]> = {
  // Never the password: describe() is the Result's cmd.
  describe: (name, opts) => `user(${name}${opts?.state === "absent" ? ", absent" : ""})`,
  async plan(ctx: OpCtx, name, opts = {}) {
    checkName(name);
    if (typeof opts !== "object" || opts === null)
      throw new SaltyError("user options must be an object", "E_ARG");
    const spec = checkUserOpts(name, opts, ctx.users.platform);
    const info = await ctx.users.user(name);
    if (opts.state === "absent") {
      if (!info) return { changes: [], created: false, note: "no such user" };
      return {
        changes: toChanges(userDelete(ctx.users.platform, name), { user: name, removed: true }),
        created: false,
        summary: `remove user ${name}`,
      };
    }
    await missingGroups(ctx, spec.groups ?? []);
    if (!info) return create(ctx, spec);
    const wantGid = spec.group === undefined ? undefined : await ctx.users.group(spec.group);
    if (spec.group !== undefined && wantGid === undefined)
      throw new SaltyError(`no such group: ${spec.group}`, "E_NO_GROUP");
    const d = userDiff(spec, await readUser(ctx, name, info, spec), wantGid);
    const words = diffWords(d);
    if (!words.length)
      return { changes: [], created: false, note: "user in place with those attributes" };
    const cmds = userModify(ctx.users.platform, name, d, wantGid);
    const accounts = {
      user: name,
      ...attrs(d),
      ...(d.group ? { group: d.group } : {}),
      ...(d.uid !== undefined ? { uid: d.uid } : {}),
      ...(d.groups ? { groups: d.groups.want } : {}),
    };
    return {
      changes: toChanges(cmds, accounts),
      created: false,
      summary: `change the ${words.join(", ")} of user ${name}`,
    };
  },
};
