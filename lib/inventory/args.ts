// Parses the KEY=VALUE arguments of `salty apply` (SPEC section 2): roles=,
// skip= and target= steer the apply; every other key goes into the roles' and
// templates' context, so it must not shadow a context or operator name, nor
// be a near miss of roles=, skip= or target= (`trgt=prod1` would otherwise
// become a context variable and run on every host).
// Pure: no I/O. Bad input is a UsageError (exit status 2).

import type { Operators } from "salty";
import { UsageError } from "../errors.ts";
import { OPERATOR_NAMES } from "../operators/names.ts";
import { parseTarget as parseExpr, type TargetExpr } from "./target.ts";
import { ROLLOUT_KEYS, parseRollout, type RolloutKey, type RolloutOptions } from "./rollout.ts";

export type ArgValue = string | number | boolean | string[];

/** A target expression (target.ts) and the text it was written as. */
export type Target = { text: string; expr: TargetExpr };

export interface ApplyArgs {
  /** Roles to run; empty: every role of each host. */
  roles: string[];
  /** Roles not to run (a role also named in `roles` still runs). */
  skip: string[];
  /** Which hosts; absent: every connected host of the inventory. */
  target?: Target;
  /** Every other KEY=VALUE, passed into the context (e.g. `version`). */
  extra: Record<string, ArgValue>;
  /** batch=, max_fail=, gate=, gate_timeout=, gate_retries=, pause=: the apply is a rollout (rollout.ts). */
  rollout?: RolloutOptions;
}

// A compile error here means an operator was added to salty.d.ts but not to operators/names.ts.
const everyOperatorListed: [Exclude<keyof Operators, (typeof OPERATOR_NAMES)[number]>] extends [
  never,
]
  ? true
  : never = true;
void everyOperatorListed;

/** Names an apply argument may not take: they would shadow the context or an operator. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  "id",
  "me",
  "role",
  "hosts",
  "bootstrap",
  "args",
  "dryRun",
  "path",
  ...OPERATOR_NAMES,
]);

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The keys that steer an apply. A key two edits from `target` or one from
 * `roles`/`skip` is taken for a typo (`trgt`, `rolse`, `skp`); two edits of a
 * four-letter word would refuse honest names (`spin`, `files`).
 */
const STEERING = ["target", "roles", "skip"];

function nearSteering(key: string): string | undefined {
  if (STEERING.includes(key) || (ROLLOUT_KEYS as readonly string[]).includes(key)) return undefined;
  return (
    STEERING.find((word) => editDistance(key, word) <= (word.length >= 6 ? 2 : 1)) ??
    ROLLOUT_KEYS.find((word) => nearRollout(key, word))
  );
}

/**
 * A typo of a rollout word: two edits from a long one (`max_fial`, `gate_timout`); in a short one,
 * another case, a letter dropped, one added at the end, or two neighbours swapped (`Batch`, `paus`,
 * `gates`, `btach`). A short word with a letter changed or put in front is an honest name (`date`,
 * `patch`, `cause`, `stage`) and stays a context variable.
 */
function nearRollout(key: string, word: string): boolean {
  if (word.length >= 6) return editDistance(key, word) <= 2;
  if (key.toLowerCase() === word) return true;
  if (editDistance(key, word) !== 1) return false;
  if (key.length === word.length) return [...key].sort().join("") === [...word].sort().join("");
  return key.length < word.length || key.startsWith(word);
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: the optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word` within `max` edits (ties: the first), or undefined. */
export function closest(word: string, candidates: Iterable<string>, max = 2): string | undefined {
  let best: { name: string; dist: number } | undefined;
  for (const name of candidates) {
    const dist = editDistance(word, name);
    if (dist <= max && (!best || dist < best.dist)) best = { name, dist };
  }
  return best?.name;
}

/** `a,b` -> ["a", "b"]; `true`/`false` -> boolean; `12` -> 12; `1.5` -> 1.5; else the string. */
export function parseValue(value: string): ArgValue {
  if (value.includes(",")) return splitList(value);
  if (value === "true" || value === "false") return value === "true";
  if (/^[0-9]+$/.test(value)) {
    const n = Number(value);
    // Beyond 2^53 a number would silently change: keep the digits.
    return Number.isSafeInteger(n) ? n : value;
  }
  if (/^[0-9]+\.[0-9]+$/.test(value)) return Number(value);
  return value;
}

function splitList(value: string): string[] {
  return value.split(",").filter((s) => s !== "");
}

export function parseTarget(value: string): Target {
  if (value.trim() === "")
    throw new UsageError(
      "target= needs a host glob or an expression (cluster:NAME, role:NAME, fact:PATH=GLOB, ...)",
    );
  return { text: value, expr: parseExpr(value) };
}

export function parseApplyArgs(list: readonly string[]): ApplyArgs {
  const out: ApplyArgs = { roles: [], skip: [], extra: {} };
  const seen = new Set<string>();
  const rollout: Partial<Record<RolloutKey, string>> = {};
  for (const arg of list) {
    const eq = arg.indexOf("=");
    if (eq === -1)
      throw new UsageError(
        `${JSON.stringify(arg)}: apply arguments are KEY=VALUE (e.g. roles=nginx target=web*)`,
      );
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (!KEY.test(key))
      throw new UsageError(
        `${JSON.stringify(arg)}: the key must be a name (letters, digits and _, not first a digit)`,
      );
    // Assigned to a plain object it would set the prototype, not a context name.
    if (key === "__proto__") throw new UsageError(`__proto__=: not a usable name`);
    if (RESERVED_NAMES.has(key))
      throw new UsageError(
        `${key}=: "${key}" is a name of the role context and cannot be set from the command line`,
      );
    const near = nearSteering(key);
    if (near)
      throw new UsageError(
        `${key}=: did you mean ${near}=? (a key this close to ${near} is taken for a typo, not a context variable)`,
      );
    if (seen.has(key)) throw new UsageError(`${key}= is given twice`);
    seen.add(key);
    if (key === "roles" || key === "skip") out[key] = splitList(value);
    else if (key === "target") out.target = parseTarget(value);
    else if ((ROLLOUT_KEYS as readonly string[]).includes(key)) rollout[key as RolloutKey] = value;
    else out.extra[key] = parseValue(value);
  }
  const r = parseRollout(rollout);
  if (r) out.rollout = r;
  return out;
}
