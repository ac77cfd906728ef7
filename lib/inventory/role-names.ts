// Which role names exist. A name is a role when FILEROOT/roles/NAME.ts exists,
// a tag when a host lists it under `tags` (the original salty's silent tags,
// made explicit). An inventory role that is neither is an inventory error
// naming host and role; a roles=/skip= name that is neither is a usage error
// (exit 2): without these checks a typo ran nothing and exited 0.
// Pure: the caller lists the role files (apply-scope.ts).

import { UsageError } from "../errors.ts";
import { closest, type ApplyArgs } from "./args.ts";
import { InventoryError, pathOf, type ValidInventory } from "./validate.ts";

/** Every host's role without roles/NAME.ts that the host does not list under `tags`. */
export function checkRoleFiles(inv: ValidInventory, roleFiles: ReadonlySet<string>): void {
  const problems: string[] = [];
  for (const [cluster, members] of Object.entries(inv.hosts)) {
    for (const [id, spec] of Object.entries(members)) {
      for (const role of spec.roles) {
        if (roleFiles.has(role) || spec.tags?.includes(role)) continue;
        problems.push(
          `${pathOf(pathOf("hosts", cluster), id)}: role ${JSON.stringify(role)} has no roles/${role}.ts (a name that is only a tag goes in the host's tags: [...] too)`,
        );
      }
    }
  }
  if (problems.length) throw new InventoryError(problems);
}

/** Every name of roles= and skip= must be a role file or a declared tag. */
export function checkRoleArgs(
  args: Pick<ApplyArgs, "roles" | "skip">,
  inv: ValidInventory,
  roleFiles: ReadonlySet<string>,
): void {
  const tags = new Set(
    Object.values(inv.hosts).flatMap((members) =>
      Object.values(members).flatMap((spec) => spec.tags ?? []),
    ),
  );
  for (const key of ["roles", "skip"] as const) {
    for (const name of args[key]) {
      if (roleFiles.has(name) || tags.has(name)) continue;
      const near = closest(name, [...roleFiles, ...tags]);
      throw new UsageError(
        `${key}=${name}: no role or tag of that name (no roles/${name}.ts, and no host lists it under tags)${near ? `; did you mean ${near}?` : ""}`,
      );
    }
  }
}
