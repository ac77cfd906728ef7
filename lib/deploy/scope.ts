// A deploy's apply scope: the master's inventory (hosts, their vars and
// secrets, loaded fresh) and the release's top.ts section (which of the
// project's roles each host gets). A host gets, in file order and once each,
// the roles of every target of the section it matches; hosts no target
// matches are left out. Contexts are built as for any apply (the host's own
// secrets only).

import type { Facts } from "salty";
import { isSecret, type SecretKey } from "../crypto/secrets.ts";
import { loadInventory } from "../inventory/load.ts";
import { validateInventory } from "../inventory/validate.ts";
import { NoHostMatched, scopeApply, type InventoryPlan } from "../inventory/resolve.ts";
import { matchTarget } from "../inventory/target.ts";
import { contextFactory } from "../inventory/context.ts";
import { secretDecrypter } from "../master/apply-scope.ts";
import type { ApplyScope, HostScope } from "../master/scheduler.ts";
import type { TopSection } from "./topfile.ts";

export interface DeployScopeDeps {
  /** The base fileroot: its hosts/index.ts is the inventory. */
  fileroot: string;
  factsOf(id: string): Facts | undefined;
  secretKey?: SecretKey;
}

/** The roles each inventory host gets from the section (empty: not targeted). */
export function rolesByHost(
  inv: InventoryPlan,
  section: TopSection,
  factsOf: (id: string) => Facts | undefined,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const h of inv.hosts) {
    const view = {
      id: h.id,
      cluster: h.cluster,
      env: h.env,
      roles: h.roles.map((r) => r.name),
      vars: h.vars,
      facts: factsOf(h.id),
    };
    const roles = [
      ...new Set(section.filter((s) => matchTarget(s.expr, view)).flatMap((s) => s.roles)),
    ];
    if (roles.length) out.set(h.id, roles);
  }
  return out;
}

export async function scopeDeploy(
  section: TopSection,
  connected: string[],
  deps: DeployScopeDeps,
): Promise<ApplyScope> {
  const inv = validateInventory(await loadInventory(deps.fileroot));
  let base: InventoryPlan;
  try {
    base = scopeApply(inv, connected, { roles: [], skip: [], extra: {} }, deps.factsOf);
  } catch (err) {
    if (err instanceof NoHostMatched)
      return {
        hosts: [],
        context: () => {
          throw err;
        },
      };
    throw err;
  }
  const roles = rolesByHost(base, section, deps.factsOf);
  const hosts: HostScope[] = base.hosts.flatMap((h) => {
    const mine = roles.get(h.id);
    if (!mine) return [];
    const status = h.connected ? "run" : h.ignore_missing ? "absent" : "missing";
    return [{ id: h.id, status, roles: mine.map((name) => ({ name, skipped: false })) }];
  });
  const facts = Object.fromEntries(connected.map((id) => [id, deps.factsOf(id)]));
  const context = contextFactory(base, {
    facts,
    extra: {},
    bootstrap: false,
    decrypt: secretDecrypter(deps.secretKey),
    isSecret,
  });
  return { hosts, context, others: context.others, secrets: context.secrets };
}
