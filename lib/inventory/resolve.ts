// Resolves a validated inventory against the connected agents and the apply
// arguments into a plan the scheduler iterates: which hosts, in which state,
// with which roles and merged vars. Pure: no I/O, no decryption (vars stay raw,
// NACL[...] included; context.ts decrypts a host's own vars and strips others').
//
// Rules:
// - vars merge env < cluster < host, key by key (a host's `vars.x` replaces the
//   cluster's `x` whole; nested objects are not merged).
// - A host id with `*` or `?` is a glob matched against connected agent ids.
//   An exact id wins over a glob; an id matching several globs goes to the first
//   in inventory order. A glob expands to its matches sorted by id.
// - Host status: "run" (connected, targeted), "skipped" (connected, outside
//   the target: `...host skipped...`), "missing" (not connected, and the apply
//   targets its cluster without `ignore_missing`, or names its id exactly:
//   rc 1), "absent" (not connected otherwise: only listed with -v).
// - roles= keeps only those roles, skip= drops roles unless roles= names them;
//   filtered roles stay in inventory order with `skipped: true`.

import type { Vars } from "salty";
import { UsageError } from "../errors.ts";
import type { ApplyArgs, Target } from "./args.ts";
import type { ValidInventory } from "./validate.ts";

export type PlanStatus = "run" | "skipped" | "missing" | "absent";

export interface PlannedRole {
  name: string;
  /** Filtered out by roles= or skip=: reported as `...role skipped...`. */
  skipped: boolean;
}

export interface PlannedHost {
  /** The agent id (a glob entry yields one PlannedHost per matching agent). */
  id: string;
  /** The inventory key this host came from: its id, or the glob that matched it. */
  entry: string;
  cluster: string;
  env: string;
  /** Every role of the host, in inventory order. */
  roles: PlannedRole[];
  /** env < cluster < host, raw: secrets are still NACL[...] strings. Read-only. */
  vars: Vars;
  ignore_missing: boolean;
  connected: boolean;
  status: PlanStatus;
}

export interface InventoryPlan {
  /** Every host of the inventory, in inventory order (clusters, then hosts). */
  hosts: PlannedHost[];
  /** Connected agents that no inventory entry names or matches. */
  unknownAgents: string[];
  /** Glob entries that matched no connected agent. */
  unmatchedGlobs: string[];
  /** Names given in roles= or skip= that no host of the inventory has (typos?). */
  unknownRoles: string[];
}

export function isGlob(id: string): boolean {
  return /[*?]/.test(id);
}

/** `*` any run of characters (dots included), `?` one character; the rest literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

interface Entry {
  key: string;
  cluster: string;
  spec: ValidInventory["hosts"][string][string];
}

function entriesOf(inv: ValidInventory): Entry[] {
  return Object.entries(inv.hosts).flatMap(([cluster, members]) => Object.entries(members).map(([key, spec]) => ({ key, cluster, spec })));
}

/** Which connected ids each entry gets: exact ids first, then the first matching glob. */
function assign(entries: Entry[], connected: string[]): { byEntry: Map<string, string[]>; unknown: string[] } {
  const exact = new Set(entries.filter((e) => !isGlob(e.key)).map((e) => e.key));
  const globs = entries.filter((e) => isGlob(e.key)).map((e) => ({ key: e.key, re: globToRegExp(e.key) }));
  const byEntry = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const id of [...connected].sort()) {
    const key = exact.has(id) ? id : globs.find((g) => g.re.test(id))?.key;
    if (key === undefined) unknown.push(id);
    else byEntry.set(key, [...(byEntry.get(key) ?? []), id]);
  }
  return { byEntry, unknown };
}

function inTarget(target: Target | undefined, id: string, cluster: string): boolean {
  if (!target) return true;
  return target.kind === "cluster" ? target.name === cluster : globToRegExp(target.pattern).test(id);
}

function statusOf(h: Pick<PlannedHost, "id" | "cluster" | "connected" | "ignore_missing">, target: Target | undefined): PlanStatus {
  if (h.connected) return inTarget(target, h.id, h.cluster) ? "run" : "skipped";
  const clusterTargeted = target?.kind === "cluster" && target.name === h.cluster && !h.ignore_missing;
  const namedExactly = target?.kind === "glob" && target.pattern === h.id;
  return clusterTargeted || namedExactly ? "missing" : "absent";
}

function planRoles(names: string[], args: ApplyArgs): PlannedRole[] {
  return names.map((name) => {
    const chosen = args.roles.includes(name);
    const skipped = (args.roles.length > 0 && !chosen) || (args.skip.includes(name) && !chosen);
    return { name, skipped };
  });
}

export function planApply(inv: ValidInventory, connectedIds: Iterable<string>, args: ApplyArgs): InventoryPlan {
  const target = args.target;
  if (target?.kind === "cluster" && !(target.name in inv.hosts)) {
    throw new UsageError(`target=cluster:${target.name}: no such cluster in the inventory (known: ${Object.keys(inv.hosts).join(", ") || "none"})`);
  }
  const entries = entriesOf(inv);
  const connected = new Set(connectedIds);
  const { byEntry, unknown } = assign(entries, [...connected]);
  const hosts: PlannedHost[] = [];
  const unmatchedGlobs: string[] = [];
  for (const { key, cluster, spec } of entries) {
    const ids = isGlob(key) ? (byEntry.get(key) ?? []) : [key];
    if (ids.length === 0) unmatchedGlobs.push(key);
    for (const id of ids) {
      const host: Omit<PlannedHost, "status"> = {
        id,
        entry: key,
        cluster,
        env: spec.env,
        roles: planRoles(spec.roles, args),
        vars: { ...inv.envs[spec.env], ...inv.clusters[cluster], ...spec.vars },
        ignore_missing: spec.ignore_missing ?? false,
        connected: connected.has(id),
      };
      hosts.push({ ...host, status: statusOf(host, target) });
    }
  }
  const known = new Set(entries.flatMap((e) => e.spec.roles));
  const unknownRoles = [...new Set([...args.roles, ...args.skip])].filter((r) => !known.has(r));
  return { hosts, unknownAgents: unknown, unmatchedGlobs, unknownRoles };
}
