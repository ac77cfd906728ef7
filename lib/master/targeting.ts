// Which hosts `salty run`, `salty ping` and `salty targets` reach: the
// inventory loaded fresh, the target expression (lib/inventory/target.ts)
// evaluated by the same scopeApply as an apply, against the facts the master
// validated for each connected agent. Also the connected agents outside the
// inventory that the expression matches (by id and facts only), which ping
// lists and run leaves alone, as an apply does.

import type { Facts, Vars } from "salty";
import { loadInventory } from "../inventory/load.ts";
import { validateInventory, type ValidInventory } from "../inventory/validate.ts";
import { parseTarget } from "../inventory/args.ts";
import { NoHostMatched, scopeApply, type PlannedHost } from "../inventory/resolve.ts";
import { matchTarget } from "../inventory/target.ts";
import { isSecret } from "../crypto/secrets.ts";
import { holdsSecret, secretValues } from "../inventory/context.ts";
import { secretDecrypter } from "./apply-scope.ts";
import type { SecretKey } from "../crypto/secrets.ts";

export interface Selection {
  /** Inventory hosts in the target (connected or not), in inventory order. */
  hosts: PlannedHost[];
  /** Connected agents not in the inventory that the target matches (every one without a target). */
  strangers: string[];
}

export interface TargetingDeps {
  fileroot: string;
  connected(): string[];
  factsOf(id: string): Facts | undefined;
  secretKey?: SecretKey;
}

/** The hosts a target selects; NoHostMatched (exit 2) when it selects none, inventory or not. */
export async function selectHosts(
  target: string | undefined,
  deps: TargetingDeps,
): Promise<Selection> {
  const parsed = target === undefined ? undefined : parseTarget(target);
  const inv = validateInventory(await loadInventory(deps.fileroot));
  const connected = deps.connected();
  const matches = (id: string) =>
    !parsed || matchTarget(parsed.expr, { id, facts: deps.factsOf(id) });
  const strangers = unknownAgents(inv, connected).filter(matches);
  try {
    const scope = scopeApply(
      inv,
      connected,
      { roles: [], skip: [], extra: {}, ...(parsed ? { target: parsed } : {}) },
      deps.factsOf,
    );
    return { hosts: scope.hosts.filter((h) => h.status !== "skipped"), strangers };
  } catch (err) {
    // Only agents outside the inventory matched: ping still lists them.
    if (err instanceof NoHostMatched && strangers.length > 0) return { hosts: [], strangers };
    throw err;
  }
}

/** Connected agents that no inventory entry names or matches. */
function unknownAgents(inv: ValidInventory, connected: string[]): string[] {
  try {
    return scopeApply(inv, connected, { roles: [], skip: [], extra: {} }).unknownAgents;
  } catch (err) {
    if (err instanceof NoHostMatched) return connected; // an inventory naming no host
    throw err;
  }
}

/** The plaintexts of a host's own NACL[...] vars: what its run output must mask. */
export function secretPlaintexts(host: PlannedHost, secretKey: SecretKey | undefined): string[] {
  if (!holdsSecret(host.vars, isSecret)) return [];
  return secretValues(host.vars, secretDecrypter(secretKey)(host.vars as Vars), isSecret);
}
