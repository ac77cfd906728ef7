// From an apply request to the scheduler's scope: load the inventory fresh
// (edits apply without a restart), resolve hosts and roles against the
// connected agents, and build each role's context with that host's own
// secrets only. Also the resolved inventory `salty meta` prints.

// Synchronous reads: a few small local files per apply, where the thread pool's round trip costs
// about four times the read itself (docs/performance.md, fourth session).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Facts, HostInfo, Vars } from "salty";
import { SaltyError } from "../errors.ts";
import { containsSecret, decryptTree, isSecret, type SecretKey } from "../crypto/secrets.ts";
import { loadInventory } from "../inventory/load.ts";
import { validateInventory } from "../inventory/validate.ts";
import { parseApplyArgs } from "../inventory/args.ts";
import { scopeApply } from "../inventory/resolve.ts";
import { checkRoleArgs, checkRoleFiles } from "../inventory/role-names.ts";
import { contextFactory, maskSecrets, publicHosts } from "../inventory/context.ts";
import type { InventoryPlan } from "../inventory/resolve.ts";
import type { ApplyRequest } from "../wire/api.ts";
import type { ApplyScope, RoleSource } from "./scheduler.ts";
import { roleModules } from "./role-modules.ts";

export interface ScopeDeps {
  fileroot: string;
  /** Facts of a connected agent. */
  factsOf(id: string): Facts | undefined;
  /** From crypto.pass; without it an inventory holding secrets cannot be applied. */
  secretKey?: SecretKey;
}

export function secretDecrypter(secretKey: SecretKey | undefined): (vars: Vars) => Vars {
  return (vars) => {
    if (secretKey) return decryptTree(vars, secretKey);
    if (containsSecret(vars))
      throw new SaltyError(
        "the inventory holds NACL[...] secrets but the master has no crypto.pass",
        "E_NO_PASSWORD",
      );
    return vars;
  };
}

export async function scopeFromInventory(
  req: ApplyRequest,
  connected: string[],
  deps: ScopeDeps,
): Promise<ApplyScope> {
  const args = parseApplyArgs(req.args);
  const raw = await loadInventory(deps.fileroot);
  const inv = validateInventory(raw);
  const roleFiles = await listRoleFiles(deps.fileroot);
  checkRoleFiles(inv, roleFiles);
  checkRoleArgs(args, inv, roleFiles);
  const scope = scopeApply(inv, connected, args, deps.factsOf);
  const facts = Object.fromEntries(connected.map((id) => [id, deps.factsOf(id)]));
  const context = contextFactory(scope, {
    facts,
    others: sameOthers(raw, scope, facts),
    extra: args.extra,
    bootstrap: !!req.bootstrap,
    decrypt: secretDecrypter(deps.secretKey),
    isSecret,
  });
  return {
    hosts: scope.hosts.map((h) => ({ id: h.id, status: h.status, roles: h.roles })),
    context,
    others: context.others,
    secrets: context.secrets,
  };
}

/**
 * Every host as the others see it (context.ts publicHosts) depends only on the inventory and on each
 * host's facts. While the inventory module's export (evaluated once per content: sys/load-module.ts,
 * treated as read-only data) and every planned host's facts (replaced whole at each hello and
 * agent.facts, never changed in place) are the same objects, in the same order, the last apply's view
 * is reused, and with it its encoding and digest (shared-hosts.ts keeps them by object): at 10,000
 * hosts that encoding cost the master ~0.2 s of every apply.
 */
let lastOthers:
  | {
      raw: unknown;
      ids: string[];
      facts: Array<Facts | undefined>;
      others: Record<string, HostInfo>;
    }
  | undefined;
function sameOthers(
  raw: unknown,
  plan: InventoryPlan,
  facts: Record<string, Facts | undefined>,
): Record<string, HostInfo> {
  const ids = plan.hosts.map((h) => h.id);
  const now = ids.map((id) => (Object.hasOwn(facts, id) ? facts[id] : undefined));
  const last = lastOthers;
  if (
    last &&
    last.raw === raw &&
    last.ids.length === ids.length &&
    last.ids.every((id, i) => id === ids[i] && last.facts[i] === now[i])
  )
    return last.others;
  const others = publicHosts(plan, facts, isSecret);
  lastOthers = { raw, ids, facts: now, others };
  return others;
}

/** The inventory as the master resolves it: per host its cluster, env, roles and merged vars. */
export async function resolvedInventory(
  connected: string[],
  showSecrets: boolean,
  deps: ScopeDeps,
): Promise<unknown> {
  const inv = validateInventory(await loadInventory(deps.fileroot));
  const scope = scopeApply(inv, connected, { roles: [], skip: [], extra: {} });
  const decrypt = secretDecrypter(deps.secretKey);
  const hosts = Object.fromEntries(
    scope.hosts.map((h) => [
      h.id,
      {
        cluster: h.cluster,
        env: h.env,
        roles: h.roles.map((r) => r.name),
        vars: showSecrets ? decrypt(h.vars) : maskSecrets(h.vars, isSecret),
        connected: h.connected,
        ...(h.ignore_missing ? { ignore_missing: true } : {}),
      },
    ]),
  );
  return { clusters: Object.keys(inv.hosts), envs: Object.keys(inv.envs), hosts };
}

/** The names NAME of FILEROOT/roles/NAME.ts: one readdir per apply. */
export async function listRoleFiles(fileroot: string): Promise<Set<string>> {
  try {
    const names = readdirSync(join(fileroot, "roles"));
    return new Set(
      names.filter((n) => n.endsWith(".ts") && n.length > 3).map((n) => n.slice(0, -3)),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return new Set();
    throw err;
  }
}

/** roles/NAME.ts, or undefined when there is none (the role is a tag). Names are validated by the inventory. */
export async function readRoleSource(
  fileroot: string,
  name: string,
): Promise<RoleSource | undefined> {
  const filename = join("roles", `${name}.ts`);
  try {
    const source = readFileSync(join(fileroot, filename), "utf8");
    const modules = await roleModules(fileroot, filename, source);
    return { source, filename, ...(modules ? { modules } : {}) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
