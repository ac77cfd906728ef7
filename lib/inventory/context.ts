// Builds the Context a role and its templates receive (SPEC section 4) from
// the plan: `id`, `me` (with its own secrets decrypted), `role`, `hosts` (the
// other hosts, without any var that holds a secret), `bootstrap` and the apply
// arguments. Secrecy is decided on the RAW vars (NACL[...] strings) before
// anything is decrypted, so a decrypted value can never slip into another
// host's context. Decryption and the secret predicate are injected. Pure.

import type { Facts, HostContext, HostInfo, Vars } from "salty";
import { SaltyError, errorMessage } from "../errors.ts";
import type { ArgValue } from "./args.ts";
import type { InventoryPlan, PlannedHost } from "./resolve.ts";
import { isPlainObject, own } from "./validate.ts";

/** Whether a raw string is a secret, e.g. `(s) => /^NACL\[.*\]$/.test(s)`. */
export type IsSecret = (value: string) => boolean;

/** A copy of a host's raw vars with every secret decrypted (e.g. secrets.decryptTree with the key). */
export type DecryptVars = (vars: Vars) => Vars;

export type FactsById = Readonly<Record<string, Facts | undefined>>;

/** Whether a value is, or holds anywhere inside arrays and plain objects, a secret string. */
export function holdsSecret(value: unknown, isSecret: IsSecret): boolean {
  if (typeof value === "string") return isSecret(value);
  if (Array.isArray(value)) return value.some((v) => holdsSecret(v, isSecret));
  if (isPlainObject(value)) return Object.values(value).some((v) => holdsSecret(v, isSecret));
  return false;
}

/** The vars without any var that is or holds a secret (the whole var goes, not just the string). */
export function publicVars(vars: Vars, isSecret: IsSecret): Vars {
  return Object.fromEntries(Object.entries(vars).filter(([, v]) => !holdsSecret(v, isSecret)));
}

/** A copy with every secret string replaced by "NACL[***]" (for `salty meta` without --show-secrets). */
export function maskSecrets<T>(value: T, isSecret: IsSecret): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return isSecret(v) ? "NACL[***]" : v;
    if (Array.isArray(v)) return v.map(walk);
    if (isPlainObject(v))
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** The plaintexts of the secrets in `raw`, read from the same places in its decrypted copy (for masking). */
export function secretValues(raw: unknown, decrypted: unknown, isSecret: IsSecret): string[] {
  if (typeof raw === "string")
    return isSecret(raw) && typeof decrypted === "string" ? [decrypted] : [];
  if (Array.isArray(raw))
    return Array.isArray(decrypted)
      ? raw.flatMap((v, i) => secretValues(v, decrypted[i], isSecret))
      : [];
  if (isPlainObject(raw) && isPlainObject(decrypted))
    return Object.entries(raw).flatMap(([k, v]) =>
      Object.hasOwn(decrypted, k) ? secretValues(v, decrypted[k], isSecret) : [],
    );
  return [];
}

function info(host: PlannedHost, vars: Vars, facts: Facts | undefined): HostInfo {
  return {
    env: host.env,
    cluster: host.cluster,
    roles: host.roles.map((r) => r.name),
    vars,
    ...(facts ? { facts } : {}),
  };
}

/**
 * Every host of the plan as another host may see it: cluster, env, roles,
 * facts (when connected) and non-secret vars. Compute once per apply.
 */
export function publicHosts(
  plan: InventoryPlan,
  facts: FactsById,
  isSecret: IsSecret,
): Record<string, HostInfo> {
  return Object.fromEntries(
    plan.hosts.map((h) => [h.id, info(h, publicVars(h.vars, isSecret), own(facts, h.id))]),
  );
}

export interface ContextInput {
  host: PlannedHost;
  role: string;
  /** From publicHosts(): the host itself is left out of the context's `hosts`. */
  others: Record<string, HostInfo>;
  facts?: Facts;
  /** The apply's extra KEY=VALUE arguments (ApplyArgs.extra). */
  extra: Readonly<Record<string, ArgValue>>;
  bootstrap: boolean;
  decrypt: DecryptVars;
}

/** The context of one role on one host. Throws E_DECRYPT-style SaltyErrors naming the host. */
export function buildContext(input: ContextInput): HostContext {
  const { host, role, others, extra, bootstrap } = input;
  const hosts = Object.fromEntries(Object.entries(others).filter(([id]) => id !== host.id));
  const me = info(host, decryptFor(host, input.decrypt), input.facts);
  // The arguments are `args`; each is also a key of the context itself, as before issue 16, so that
  // roles written then keep working (the type no longer shows them). Fixed names last: they win (args.ts refuses those anyway).
  return { ...extra, id: host.id, me, role, hosts, bootstrap, args: extra };
}

function decryptFor(host: PlannedHost, decrypt: DecryptVars): Vars {
  try {
    return decrypt(host.vars);
  } catch (err) {
    const code = err instanceof SaltyError ? err.code : "E_DECRYPT";
    throw new SaltyError(`vars of ${host.id}: ${errorMessage(err)}`, code);
  }
}

export interface ContextFactoryOptions {
  facts: FactsById;
  /** publicHosts(plan, facts, isSecret) computed already (reused from an earlier apply: apply-scope.ts). */
  others?: Record<string, HostInfo>;
  extra: Readonly<Record<string, ArgValue>>;
  bootstrap: boolean;
  decrypt: DecryptVars;
  isSecret: IsSecret;
}

/** `hosts: false`: the caller sends the other hosts apart (shared hosts), so `hosts` may be left empty. */
export interface ContextOptions {
  hosts?: boolean;
}

/**
 * `(hostId, role) => Context` for one apply. The public view of the hosts is
 * computed once, and each host's context once (its roles' contexts differ only
 * in `role` and share the rest): treat contexts as read-only. Each host's
 * `hosts` (every other host: O(hosts) per host) only when asked for.
 */
export function contextFactory(
  plan: InventoryPlan,
  opts: ContextFactoryOptions,
): ((hostId: string, role: string, options?: ContextOptions) => HostContext) & {
  others: Record<string, HostInfo>;
  secrets(hostId: string): string[];
} {
  const others = opts.others ?? publicHosts(plan, opts.facts, opts.isSecret);
  const byId = new Map(plan.hosts.map((h) => [h.id, h]));
  // Built with `hosts` empty, in its place: filled in below keeps the keys' order.
  const built = new Map<string, HostContext>();
  const othersOf = new Map<string, Record<string, HostInfo>>();
  const context = (hostId: string, role: string, options: ContextOptions = {}): HostContext => {
    let ctx = built.get(hostId);
    if (!ctx) {
      const host = byId.get(hostId);
      if (!host) throw new SaltyError(`no host ${hostId} in this apply's plan`, "E_INVENTORY");
      ctx = buildContext({
        host,
        role,
        others: {},
        facts: own(opts.facts, hostId),
        extra: opts.extra,
        bootstrap: opts.bootstrap,
        decrypt: opts.decrypt,
      });
      built.set(hostId, ctx);
    }
    if (options.hosts === false) return { ...ctx, role };
    let hosts = othersOf.get(hostId);
    if (!hosts) {
      hosts = Object.fromEntries(Object.entries(others).filter(([id]) => id !== hostId));
      othersOf.set(hostId, hosts);
    }
    return { ...ctx, role, hosts };
  };
  // The plaintexts of a host's own secrets (in its context already): what its reports must mask.
  // Once per host and apply: the scheduler asks for every role request.
  const found = new Map<string, string[]>();
  const secrets = (hostId: string): string[] => {
    let values = found.get(hostId);
    if (!values) {
      const host = byId.get(hostId);
      values = host
        ? secretValues(host.vars, context(hostId, "", { hosts: false }).me.vars, opts.isSecret)
        : [];
      found.set(hostId, values);
    }
    return values;
  };
  // Every host's `hosts` is this, less itself: the scheduler sends it once per agent connection.
  return Object.assign(context, { others, secrets });
}
