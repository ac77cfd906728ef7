// group(name, {gid, system, members, state}): a group exists with that gid
// and (when `members` is given) exactly those members, or is absent. Planned
// through the Users port and the probe (/etc/group, dscl on macOS); carried
// out with the platform's commands (_accounts.ts).

import type { GroupOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { parseDscl, parseGroups } from "./_account-files.ts";
import { groupCreate, groupDelete, groupModify, toChanges } from "./_accounts.ts";
import type { OpCtx, Operator } from "./types.ts";
import { checkId } from "./user.ts";
import { checkName } from "./useradd.ts";

/** The members of an existing group, as the system files say. */
async function membersOf(ctx: OpCtx, name: string): Promise<string[]> {
  if (ctx.users.platform === "darwin") {
    const r = await ctx.probe.run(["dscl", ".", "-read", `/Groups/${name}`, "GroupMembership"]);
    return (parseDscl(r.stdout).get("GroupMembership") ?? "").split(/\s+/).filter(Boolean).sort();
  }
  return parseGroups((await ctx.probe.read("/etc/group")) ?? "").get(name)?.members ?? [];
}

export const group: Operator<[name: string, opts?: GroupOpts]> = {
  describe: (name, opts) => `group(${name}${opts?.state === "absent" ? ", absent" : ""})`,
  async plan(ctx: OpCtx, name, opts = {}) {
    checkName(name, "group name");
    if (typeof opts !== "object" || opts === null)
      throw new SaltyError("group options must be an object", "E_ARG");
    if (opts.state !== undefined && opts.state !== "present" && opts.state !== "absent")
      throw new SaltyError(
        `state must be "present" or "absent", not ${JSON.stringify(opts.state)}`,
        "E_ARG",
      );
    if (opts.system !== undefined && typeof opts.system !== "boolean")
      throw new SaltyError("system must be true or false", "E_ARG");
    if (opts.members !== undefined && !Array.isArray(opts.members))
      throw new SaltyError("members must be a list of user names", "E_ARG");
    const gid = checkId(opts.gid, "gid");
    const platform = ctx.users.platform;
    const now = await ctx.users.group(name);
    if (opts.state === "absent") {
      if (now === undefined) return { changes: [], created: false, note: "no such group" };
      return {
        changes: toChanges(groupDelete(platform, name), { group: name, removed: true }),
        created: false,
        summary: `remove group ${name}`,
      };
    }
    const members = opts.members && [...new Set(opts.members.map((m) => checkName(m)))].sort();
    const missing: string[] = [];
    for (const m of members ?? []) if (!(await ctx.users.user(m))) missing.push(m);
    if (missing.length) throw new SaltyError(`no such user: ${missing.join(", ")}`, "E_NO_USER");
    if (now === undefined) {
      const free =
        platform === "darwin" && gid === undefined
          ? await ctx.users.freeId(opts.system === true)
          : undefined;
      const cmds = groupCreate(
        platform,
        name,
        {
          ...(gid !== undefined ? { gid } : {}),
          system: opts.system === true,
          members: members ?? [],
        },
        free,
      );
      return {
        changes: toChanges(cmds, {
          group: name,
          ...(gid !== undefined ? { gid } : {}),
          join: members ?? [],
        }),
        created: true,
        summary: `create group ${name}`,
      };
    }
    if (now < 0)
      return { changes: [], created: false, note: "group planned earlier in this dry run" };
    const newGid = gid !== undefined && gid !== now ? gid : undefined;
    let diff: { want: string[]; add: string[]; drop: string[] } | undefined;
    if (members) {
      const have = await membersOf(ctx, name);
      const add = members.filter((m) => !have.includes(m)),
        drop = have.filter((m) => !members.includes(m));
      if (add.length || drop.length) diff = { want: members, add, drop };
    }
    const cmds = groupModify(platform, name, newGid, diff);
    if (!cmds.length)
      return { changes: [], created: false, note: "group in place with that gid and members" };
    const accounts = {
      group: name,
      ...(newGid !== undefined ? { gid: newGid } : {}),
      join: diff?.add ?? [],
      leave: diff?.drop ?? [],
    };
    return { changes: toChanges(cmds, accounts), created: false };
  },
};
