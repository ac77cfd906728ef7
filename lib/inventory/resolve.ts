// Resolves a validated inventory against the connected agents and the apply
// arguments into a plan the scheduler iterates: which hosts, in which state,
// with which roles and merged vars. Pure: no I/O, no decryption (vars stay raw,
// NACL[...] included; context.ts decrypts a host's own vars and strips others').
//
// Rules:
// - vars merge env < cluster < host, key by key (a host's `vars.x` replaces the
//   cluster's `x` whole; nested objects are not merged).
// - A host id with `*`, `?`, `[` or `{` is a glob (Bun.Glob, the matcher of
//   target= too) matched against connected agent ids. An exact id wins over a
//   glob; an id matching several globs goes to the first in inventory order. A
//   glob expands to its matches sorted by id.
// - Host status: "run" (connected, in the target), "skipped" (outside the
//   target, connected or not), "missing" (in the target but not connected, rc 1:
//   an apply without target= covers every host), "absent" (in the target, not
//   connected, with `ignore_missing`; a host named exactly by target= is missing
//   all the same).
// - A target that covers no host of the inventory is a UsageError: an apply
//   that runs nothing must not look like a success.
// - roles= keeps only those roles, skip= drops roles unless roles= names them;
//   filtered roles stay in inventory order with `skipped: true`. Whether the
//   names exist (a role file or a tag) is role-names.ts's business.
// - Lookups by a name from the command line or an agent use own properties
//   only: `target=cluster:constructor` is no cluster.

import type { Facts, Vars } from "salty";
import { UsageError } from "../errors.ts";
import type { ApplyArgs, Target } from "./args.ts";
import { globMatcher, isGlob, leaves, matchTarget, namesExactly } from "./target.ts";
import { INVENTORY_FILE, own, type ValidInventory } from "./validate.ts";

export { isGlob };

export type PlanStatus = "run" | "skipped" | "missing" | "absent";

export interface PlannedRole {
  name: string;
  /** Filtered out by roles= or skip=: reported as `...role skipped...`. */
  skipped: boolean;
  /** Listed in the host's `tags`: no role file, nothing runs. */
  tag: boolean;
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
}

/**
 * The one matcher of host ids, for inventory globs and target=: Bun.Glob, as
 * syncdir's excludes (`*` any run of characters, dots included; `?`, `[12]`,
 * `[!a]`, `{a,b}`). A pattern without glob characters matches itself only.
 */
export function hostMatcher(pattern: string): (id: string) => boolean {
  return globMatcher(pattern);
}

interface Entry {
  key: string;
  cluster: string;
  spec: ValidInventory["hosts"][string][string];
}

function entriesOf(inv: ValidInventory): Entry[] {
  return Object.entries(inv.hosts).flatMap(([cluster, members]) =>
    Object.entries(members).map(([key, spec]) => ({ key, cluster, spec })),
  );
}

/** Which connected ids each entry gets: exact ids first, then the first matching glob. */
function assign(
  entries: Entry[],
  connected: string[],
): { byEntry: Map<string, string[]>; unknown: string[] } {
  const exact = new Set(entries.filter((e) => !isGlob(e.key)).map((e) => e.key));
  const globs = entries
    .filter((e) => isGlob(e.key))
    .map((e) => ({ key: e.key, match: hostMatcher(e.key) }));
  const byEntry = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const id of [...connected].sort()) {
    const key = exact.has(id) ? id : globs.find((g) => g.match(id))?.key;
    if (key === undefined) unknown.push(id);
    else {
      // Appended in place: a copy per id made a glob of 10,000 agents O(n²) at every apply.
      const ids = byEntry.get(key);
      if (ids) ids.push(id);
      else byEntry.set(key, [id]);
    }
  }
  return { byEntry, unknown };
}

/** The facts the master validated for a connected agent (lib/facts/validate.ts): what fact: leaves read. */
export type FactsOf = (id: string) => Facts | undefined;

type HostView = Pick<PlannedHost, "id" | "cluster" | "env" | "roles" | "vars">;
type InTarget = (h: HostView) => boolean;

function targetTest(target: Target | undefined, factsOf: FactsOf): InTarget {
  if (!target) return () => true;
  return (h) =>
    matchTarget(target.expr, {
      id: h.id,
      cluster: h.cluster,
      env: h.env,
      roles: h.roles.map((r) => r.name),
      vars: h.vars,
      facts: factsOf(h.id),
    });
}

function statusOf(
  h: Omit<PlannedHost, "status">,
  target: Target | undefined,
  inTarget: InTarget,
): PlanStatus {
  if (!inTarget(h)) return "skipped";
  if (h.connected) return "run";
  const namedExactly = !!target && namesExactly(target.expr, h.id);
  return namedExactly || !h.ignore_missing ? "missing" : "absent";
}

/** A cluster:, env: or role: name the inventory does not know is a usage error (a typo must not select nothing silently). */
function checkTargetNames(inv: ValidInventory, target: Target): void {
  const roles = new Set(
    Object.values(inv.hosts).flatMap((m) =>
      Object.values(m).flatMap((h) => [...h.roles, ...(h.tags ?? [])]),
    ),
  );
  for (const l of leaves(target.expr)) {
    if (l.kind === "cluster" && !Object.hasOwn(inv.hosts, l.name)) {
      throw new UsageError(
        `target=${target.text}: no cluster ${l.name} in the inventory (known: ${Object.keys(inv.hosts).join(", ") || "none"})`,
      );
    }
    if (l.kind === "env" && !Object.hasOwn(inv.envs, l.name)) {
      throw new UsageError(
        `target=${target.text}: no env ${l.name} in the inventory (known: ${Object.keys(inv.envs).join(", ") || "none"})`,
      );
    }
    if (l.kind === "role" && !roles.has(l.name)) {
      throw new UsageError(
        `target=${target.text}: no host of the inventory has role ${l.name} (known: ${[...roles].sort().join(", ") || "none"})`,
      );
    }
  }
}

function planRoles(names: string[], tags: readonly string[], args: ApplyArgs): PlannedRole[] {
  return names.map((name) => {
    const chosen = args.roles.includes(name);
    const skipped = (args.roles.length > 0 && !chosen) || (args.skip.includes(name) && !chosen);
    return { name, skipped, tag: tags.includes(name) };
  });
}

/** `factsOf`: the validated facts of connected agents, for fact: targets (none: no fact: leaf matches). */
export function scopeApply(
  inv: ValidInventory,
  connectedIds: Iterable<string>,
  args: ApplyArgs,
  factsOf: FactsOf = () => undefined,
): InventoryPlan {
  const target = args.target;
  if (target) checkTargetNames(inv, target);
  const inTarget = targetTest(target, factsOf);
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
        roles: planRoles(spec.roles, spec.tags ?? [], args),
        vars: { ...own(inv.envs, spec.env), ...own(inv.clusters, cluster), ...spec.vars },
        ignore_missing: spec.ignore_missing ?? false,
        connected: connected.has(id),
      };
      hosts.push({ ...host, status: statusOf(host, target, inTarget) });
    }
  }
  if (!hosts.some((h) => h.status !== "skipped"))
    throw noMatch(target, unknown, unmatchedGlobs, factsOf);
  return { hosts, unknownAgents: unknown, unmatchedGlobs };
}

/** The apply's target (or, without one, the inventory) covers no host: exit 2. */
export class NoHostMatched extends UsageError {}

/** `no host matched target=web9 (...)`, with what could explain it. */
function noMatch(
  target: Target | undefined,
  unknownAgents: string[],
  unmatchedGlobs: string[],
  factsOf: FactsOf,
): NoHostMatched {
  const globs = unmatchedGlobs.length
    ? `globs matching no connected agent: ${unmatchedGlobs.join(", ")}`
    : "";
  if (!target)
    return new NoHostMatched(
      `no host matched: ${INVENTORY_FILE} names no host${globs ? ` (${globs})` : ""}`,
    );
  const strangers = unknownAgents.filter((id) =>
    matchTarget(target.expr, { id, facts: factsOf(id) }),
  );
  const why = [
    strangers.length
      ? `connected but not in ${INVENTORY_FILE}: ${strangers.slice(0, 5).join(", ")}${strangers.length > 5 ? ", ..." : ""}`
      : "",
    globs,
  ].filter(Boolean);
  return new NoHostMatched(
    `no host matched target=${target.text}${why.length ? ` (${why.join("; ")})` : ""}`,
  );
}
