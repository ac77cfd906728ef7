import { expect, test } from "bun:test";
import { checkRoleArgs, checkRoleFiles } from "../../lib/inventory/role-names.ts";
import { parseApplyArgs } from "../../lib/inventory/args.ts";
import { InventoryError, validateInventory } from "../../lib/inventory/validate.ts";
import { UsageError } from "../../lib/errors.ts";

const inv = validateInventory({
  hosts: {
    prod: {
      web1: { env: "prod", roles: ["base", "web", "frontend"], tags: ["frontend"] },
      "db.foo.dev": { env: "prod", roles: ["base", "pg"] },
    },
  },
});
const files = new Set(["base", "web", "pg", "unused"]);

function thrown(fn: () => void): Error | undefined {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  return undefined;
}

test("every role has a file or is a tag: nothing to say", () => {
  expect(thrown(() => checkRoleFiles(inv, files))).toBeUndefined();
});

test("a role without a file that is not a tag: an inventory error per host and role", () => {
  const err = thrown(() => checkRoleFiles(inv, new Set(["base", "web"])));
  expect(err).toBeInstanceOf(InventoryError);
  expect((err as InventoryError).problems).toEqual([
    `hosts.prod["db.foo.dev"]: role "pg" has no roles/pg.ts (a name that is only a tag goes in the host's tags: [...] too)`,
  ]);
});

test.each<[string[], string | undefined]>([
  [["roles=web,pg"], undefined],
  [["roles=frontend"], undefined], // a declared tag
  [["roles=unused"], undefined], // a role file no host has: a role all the same
  [["skip=base"], undefined],
  [
    ["roles=wbe"],
    "roles=wbe: no role or tag of that name (no roles/wbe.ts, and no host lists it under tags); did you mean web?",
  ],
  [
    ["skip=frontnd"],
    "skip=frontnd: no role or tag of that name (no roles/frontnd.ts, and no host lists it under tags); did you mean frontend?",
  ],
  [
    ["roles=web", "skip=zzzzzz"],
    "skip=zzzzzz: no role or tag of that name (no roles/zzzzzz.ts, and no host lists it under tags)",
  ],
])("roles=/skip= names: %p", (argv, message) => {
  const err = thrown(() => checkRoleArgs(parseApplyArgs(argv), inv, files));
  if (message === undefined) return expect(err).toBeUndefined();
  expect(err).toBeInstanceOf(UsageError);
  expect(err!.message).toBe(message);
});
