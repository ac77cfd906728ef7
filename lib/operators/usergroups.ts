// usergroups(name, groups): the user's supplementary groups are exactly
// `groups` (every one must exist). Runs the platform's commands.

import { SaltyError } from "../errors.ts";
import { usergroupsCommands } from "./_user-commands.ts";
import { checkName } from "./useradd.ts";
import type { OpCtx, Operator } from "./types.ts";

export const usergroups: Operator<[name: string, groups: string[]]> = {
  describe: (name, groups) =>
    `usergroups(${name}, ${Array.isArray(groups) ? groups.join(",") : String(groups)})`,
  async plan(ctx: OpCtx, name, groups) {
    checkName(name);
    if (!Array.isArray(groups))
      throw new SaltyError("groups must be a list of group names", "E_ARG");
    const want = [...new Set(groups.map((g) => checkName(g, "group name")))].sort();
    if (!(await ctx.users.user(name))) throw new SaltyError(`no such user: ${name}`, "E_NO_USER");
    const missing: string[] = [];
    for (const g of want) if ((await ctx.users.group(g)) === undefined) missing.push(g);
    if (missing.length) throw new SaltyError(`no such group: ${missing.join(", ")}`, "E_NO_GROUP");
    const have = await ctx.users.groupsOf(name);
    const argvs = usergroupsCommands(ctx.users.platform, name, have, want);
    if (!argvs.length) return { changes: [], note: "groups already match" };
    // The last command says what they make, for a dry run's planned world (planned.ts).
    return {
      changes: argvs.map((argv, i) => ({
        kind: "exec" as const,
        argv,
        ...(i === argvs.length - 1 ? { accounts: { user: name, groups: want } } : {}),
      })),
    };
  },
};
