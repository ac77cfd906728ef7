// useradd(name, {system}): a user and a group of that name exist (the group
// is the user's primary group when both are made). Runs the platform's
// commands (see _user-commands.ts); an existing user is left as it is.

import { SaltyError } from "../errors.ts";
import { useraddCommands } from "./_user-commands.ts";
import type { OpCtx, Operator } from "./types.ts";

/** A user or group name the system tools accept everywhere. */
export function checkName(name: unknown, what = "user name"): string {
  if (typeof name !== "string" || !/^[a-z_][a-z0-9_.-]{0,31}$/i.test(name)) {
    throw new SaltyError(
      `${what} must be letters, digits, "_", "." or "-" (at most 32): ${JSON.stringify(name)}`,
      "E_ARG",
    );
  }
  return name;
}

export const useradd: Operator<[name: string, opts?: { system?: boolean }]> = {
  describe: (name, opts) => `useradd(${name}${opts?.system ? ", system" : ""})`,
  async plan(ctx: OpCtx, name, opts = {}) {
    checkName(name);
    const system = opts.system === true;
    const user = await ctx.users.user(name);
    const gid = await ctx.users.group(name);
    if (user && gid !== undefined)
      return { changes: [], created: false, note: "user and group exist" };
    const state = {
      userExists: user !== undefined,
      groupExists: gid !== undefined,
      ...(gid !== undefined ? { gid } : {}),
      ...(ctx.users.platform === "darwin" ? { freeId: await ctx.users.freeId(system) } : {}),
    };
    const argvs = useraddCommands(ctx.users.platform, name, system, state);
    // The last command says what they make, for a dry run's planned world (planned.ts).
    const changes = argvs.map((argv, i) => ({
      kind: "exec" as const,
      argv,
      ...(i === argvs.length - 1 ? { accounts: { user: name, group: name } } : {}),
    }));
    return { changes, created: !user };
  },
};
