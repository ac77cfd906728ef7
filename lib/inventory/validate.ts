// Checks the shape of the inventory (the default export of hosts/index.ts)
// and names the place of every problem: `hosts.prod["web1"]: unknown env "prd"`.
// Unknown keys are errors, not warnings: a misspelt `ignore_mising` or `var`
// would otherwise be dropped without a word. A cluster or env name must be
// declared in `clusters`/`envs` when that section exists. Every lookup by a
// name from the inventory or the command line uses own properties only
// (`own()`): a cluster named `constructor` or `__proto__` is not declared.
// Pure: no I/O.

import type { HostSpec, Inventory, Vars } from "salty";
import { SaltyError } from "../errors.ts";

/** Where the inventory lives, relative to the fileroot (named in every error). */
export const INVENTORY_FILE = "hosts/index.ts";

/** An inventory that passed validation: `clusters` and `envs` are always present. */
export type ValidInventory = Required<Inventory>;

/** E_INVENTORY with every problem found, one per line after the first. */
export class InventoryError extends SaltyError {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? `${INVENTORY_FILE}: ${problems[0]}`
        : `${INVENTORY_FILE}: ${problems.length} problems:\n  ${problems.join("\n  ")}`,
      "E_INVENTORY",
    );
    this.name = "InventoryError";
  }
}

const TOP_KEYS = ["clusters", "envs", "hosts"];
const HOST_KEYS = ["env", "roles", "tags", "vars", "ignore_missing"];
const ROLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `hosts.prod["web1.foo.dev"]`, `vars.ntp[0]`: dots for identifiers, brackets otherwise. */
export function pathOf(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** `record[key]` when it is the record's own property: never an inherited `constructor`, `toString` or `__proto__`. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function list(names: string[]): string {
  return names.length ? names.join(", ") : "none";
}

/** A copy of the inventory with its types checked, or an InventoryError listing every problem. */
export function validateInventory(raw: unknown): ValidInventory {
  const problems: string[] = [];
  if (!isPlainObject(raw))
    throw new InventoryError([
      "the default export must be an object with `hosts` (and optional `clusters`, `envs`)",
    ]);
  for (const k of Object.keys(raw))
    if (!TOP_KEYS.includes(k))
      problems.push(`unknown key ${JSON.stringify(k)} (expected ${TOP_KEYS.join(", ")})`);
  // A section that is absent or malformed declares nothing (no cascade of "unknown env").
  const clusters = varsSection(raw, "clusters", problems);
  const envs = varsSection(raw, "envs", problems);
  const hosts = hostsSection(raw.hosts, { clusters, envs }, problems);
  if (problems.length) throw new InventoryError(problems);
  return structuredClone({ clusters: clusters ?? {}, envs: envs ?? {}, hosts });
}

function varsSection(
  raw: Record<string, unknown>,
  name: "clusters" | "envs",
  problems: string[],
): Record<string, Vars> | undefined {
  const section = raw[name];
  if (section === undefined) return undefined;
  if (!isPlainObject(section)) {
    problems.push(
      `${name} must be an object of ${name === "clusters" ? "cluster" : "env"} name -> vars`,
    );
    return undefined;
  }
  for (const [k, v] of Object.entries(section)) {
    if (!isPlainObject(v)) problems.push(`${pathOf(name, k)} must be an object (its vars)`);
    else checkData(v, pathOf(name, k), problems);
  }
  return section as Record<string, Vars>;
}

type Declared = { clusters?: Record<string, Vars>; envs?: Record<string, Vars> };

function hostsSection(
  hosts: unknown,
  declared: Declared,
  problems: string[],
): ValidInventory["hosts"] {
  if (hosts === undefined) {
    problems.push("missing hosts (cluster -> host id -> { env, roles })");
    return {};
  }
  if (!isPlainObject(hosts)) {
    problems.push("hosts must be an object of cluster -> host id -> { env, roles }");
    return {};
  }
  const seen = new Map<string, string>();
  for (const [cluster, members] of Object.entries(hosts)) {
    const at = pathOf("hosts", cluster);
    if (declared.clusters && !Object.hasOwn(declared.clusters, cluster))
      problems.push(
        `${at}: unknown cluster ${JSON.stringify(cluster)} (known: ${list(Object.keys(declared.clusters))})`,
      );
    if (!isPlainObject(members)) {
      problems.push(`${at} must be an object of host id -> { env, roles }`);
      continue;
    }
    for (const [id, spec] of Object.entries(members)) {
      const hostAt = pathOf(at, id);
      if (!id.trim() || /\s/.test(id))
        problems.push(`${hostAt}: a host id must be non-empty and without spaces`);
      const other = seen.get(id);
      if (other) problems.push(`${hostAt}: duplicate host id, already in ${other}`);
      else seen.set(id, at);
      checkHost(spec, hostAt, declared, problems);
    }
  }
  return hosts as ValidInventory["hosts"];
}

function checkHost(spec: unknown, at: string, declared: Declared, problems: string[]): void {
  if (!isPlainObject(spec)) {
    problems.push(`${at} must be an object with env and roles`);
    return;
  }
  for (const k of Object.keys(spec))
    if (!HOST_KEYS.includes(k))
      problems.push(`${at}: unknown key ${JSON.stringify(k)} (expected ${HOST_KEYS.join(", ")})`);
  const { env, roles, tags, vars, ignore_missing } = spec as Partial<
    Record<keyof HostSpec, unknown>
  >;
  if (env === undefined) problems.push(`${at}: missing env`);
  else if (typeof env !== "string") problems.push(`${at}: env must be a string`);
  else if (declared.envs && !Object.hasOwn(declared.envs, env))
    problems.push(
      `${at}: unknown env ${JSON.stringify(env)} (known: ${list(Object.keys(declared.envs))})`,
    );
  checkRoles(roles, at, problems);
  checkTags(tags, roles, at, problems);
  if (vars !== undefined) {
    if (!isPlainObject(vars)) problems.push(`${at}: vars must be an object`);
    else checkData(vars, `${at}.vars`, problems);
  }
  if (ignore_missing !== undefined && typeof ignore_missing !== "boolean")
    problems.push(`${at}: ignore_missing must be true or false`);
}

function checkRoles(roles: unknown, at: string, problems: string[]): void {
  if (roles === undefined) return void problems.push(`${at}: missing roles`);
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string"))
    return void problems.push(`${at}: roles must be an array of strings`);
  const seen = new Set<string>();
  for (const r of roles as string[]) {
    if (!ROLE_NAME.test(r))
      problems.push(
        `${at}: role ${JSON.stringify(r)} is not a valid role name (letters, digits, _ . -)`,
      );
    else if (seen.has(r)) problems.push(`${at}: role ${JSON.stringify(r)} is listed twice`);
    seen.add(r);
  }
}

/** A tag is one of the host's roles that has no roles/NAME.ts (apply-scope.ts checks the files). */
function checkTags(tags: unknown, roles: unknown, at: string, problems: string[]): void {
  if (tags === undefined) return;
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string"))
    return void problems.push(`${at}: tags must be an array of strings`);
  const listed = Array.isArray(roles) ? roles : [];
  for (const t of tags as string[]) {
    if (!listed.includes(t))
      problems.push(
        `${at}: tag ${JSON.stringify(t)} is not one of its roles (a tag is a role name without roles/${t}.ts)`,
      );
  }
}

/** Vars travel to agents: only strings, numbers, booleans, null, arrays and plain objects. */
function checkData(value: unknown, at: string, problems: string[], depth = 0): void {
  if (depth > 32) return void problems.push(`${at}: nested too deeply`);
  if (value === null || ["string", "boolean", "undefined"].includes(typeof value)) return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) problems.push(`${at}: must be a finite number`);
    return;
  }
  if (Array.isArray(value))
    return value.forEach((v, i) => checkData(v, pathOf(at, i), problems, depth + 1));
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) checkData(v, pathOf(at, k), problems, depth + 1);
    return;
  }
  const kind = typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
  problems.push(`${at}: must be plain data (found ${kind})`);
}
