// The one target grammar of `salty apply target=...`, `salty run`, `salty ping`
// and `salty targets`: a parser (text -> expression) and an evaluator (does this
// host match?). Pure: no I/O. Bad input is a UsageError that says where.
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | "(" expr ")" | list
//   list    := leaf ("," leaf)*            a comma inside {a,b} or [..] is the glob's
//   leaf    := GLOB                        host id glob (Bun.Glob: * ? [12] [!a] {a,b})
//            | cluster:NAME | env:NAME | role:NAME
//            | fact:PATH=GLOB | var:PATH=GLOB   PATH dotted (os.family); through a list, any item
//
// Words are separated by spaces and parentheses; `and`, `or`, `not` are
// keywords (a host id cannot be one). `fact:` reads the facts the master
// validated (a host that is not connected has none: it does not match);
// `var:` the host's merged vars (env < cluster < host), values compared as
// strings (`fact:cpu_count=8`, `var:manage_system=true`).

import { UsageError } from "../errors.ts";

export type TargetExpr =
  | { kind: "host"; pattern: string }
  | { kind: "cluster" | "env" | "role"; name: string }
  | { kind: "fact" | "var"; path: string[]; pattern: string }
  | { kind: "and" | "or"; left: TargetExpr; right: TargetExpr }
  | { kind: "not"; expr: TargetExpr };

/** What the evaluator may know of a host: a connected agent outside the inventory has only its id and facts. */
export interface TargetHost {
  id: string;
  cluster?: string;
  env?: string;
  roles?: readonly string[];
  vars?: unknown;
  facts?: unknown;
}

const KEYWORDS = new Set(["and", "or", "not"]);
const PREFIXES = ["cluster", "env", "role", "fact", "var"] as const;

/** Parse a target expression; a UsageError names the problem and the word it is at. */
export function parseTarget(text: string): TargetExpr {
  const tokens = tokenize(text);
  if (tokens.length === 0)
    throw bad(
      text,
      "an empty target (a host glob, cluster:NAME, env:NAME, role:NAME, fact:PATH=GLOB or var:PATH=GLOB)",
    );
  const p = new Parser(text, tokens);
  const expr = p.or();
  const rest = p.peek();
  if (rest !== undefined)
    throw bad(
      text,
      rest === ")" ? "a ')' without its '('" : `expected and/or before ${JSON.stringify(rest)}`,
    );
  return expr;
}

function bad(text: string, why: string): UsageError {
  return new UsageError(`target ${JSON.stringify(text)}: ${why}`);
}

function tokenize(text: string): string[] {
  return text.split(/(\(|\)|\s+)/).filter((t) => t.trim() !== "");
}

class Parser {
  private at = 0;
  constructor(
    private text: string,
    private tokens: string[],
  ) {}

  peek(): string | undefined {
    return this.tokens[this.at];
  }

  private next(): string | undefined {
    return this.tokens[this.at++];
  }

  or(): TargetExpr {
    let left = this.and();
    while (this.peek() === "or") {
      this.next();
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }

  private and(): TargetExpr {
    let left = this.not();
    while (this.peek() === "and") {
      this.next();
      left = { kind: "and", left, right: this.not() };
    }
    return left;
  }

  private not(): TargetExpr {
    const prev = this.tokens[this.at - 1];
    const t = this.next();
    if (t === undefined)
      throw bad(
        this.text,
        prev ? `expected a host glob or NAME: after ${JSON.stringify(prev)}` : "nothing to match",
      );
    if (t === "not") return { kind: "not", expr: this.not() };
    if (t === "(") {
      const inner = this.or();
      if (this.next() !== ")") throw bad(this.text, "a '(' without its ')'");
      return inner;
    }
    if (t === ")")
      throw bad(
        this.text,
        prev
          ? `expected a host glob or NAME: after ${JSON.stringify(prev)}, not ')'`
          : "a ')' without its '('",
      );
    if (KEYWORDS.has(t)) throw bad(this.text, `${JSON.stringify(t)} needs something on its left`);
    return list(this.text, t);
  }
}

/** `a,b,{c,d}` -> a or b or {c,d}. */
function list(text: string, word: string): TargetExpr {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && depth > 0) depth--;
    else if (c === "," && depth === 0) {
      parts.push(word.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(word.slice(start));
  if (parts.some((p) => p === ""))
    throw bad(text, `an empty item in the list ${JSON.stringify(word)}`);
  return parts.map((p) => leaf(text, p)).reduce((left, right) => ({ kind: "or", left, right }));
}

function leaf(text: string, word: string): TargetExpr {
  const colon = word.indexOf(":");
  if (colon === -1) return { kind: "host", pattern: checkGlob(text, word) };
  const prefix = word.slice(0, colon);
  const rest = word.slice(colon + 1);
  if (!(PREFIXES as readonly string[]).includes(prefix))
    throw bad(
      text,
      `unknown ${JSON.stringify(`${prefix}:`)} (a host id has no ':'; known: ${PREFIXES.map((p) => `${p}:`).join(" ")})`,
    );
  if (prefix === "fact" || prefix === "var") {
    const eq = rest.indexOf("=");
    if (eq === -1)
      throw bad(
        text,
        `${word}: ${prefix}: needs PATH=GLOB (e.g. ${prefix === "fact" ? "fact:os.family=debian" : "var:tier=web"})`,
      );
    const path = rest.slice(0, eq).split(".");
    const pattern = rest.slice(eq + 1);
    if (path.some((s) => s === ""))
      throw bad(text, `${word}: the path must be names joined by dots`);
    if (pattern === "") throw bad(text, `${word}: the value to match is empty`);
    return { kind: prefix, path, pattern: checkGlob(text, pattern) };
  }
  if (rest === "") throw bad(text, `${prefix}: needs a name`);
  return { kind: prefix as "cluster" | "env" | "role", name: rest };
}

function checkGlob(text: string, glob: string): string {
  let brace = 0;
  let bracket = 0;
  for (const c of glob) {
    if (c === "{") brace++;
    else if (c === "}") brace--;
    else if (c === "[") bracket++;
    else if (c === "]") bracket--;
    if (brace < 0 || bracket < 0) break;
  }
  if (brace !== 0 || bracket !== 0)
    throw bad(text, `${JSON.stringify(glob)}: unbalanced ${brace !== 0 ? "{ }" : "[ ]"}`);
  return glob;
}

export function isGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

const matchers = new Map<string, (s: string) => boolean>();

/** Bun.Glob, as inventory ids and syncdir's excludes; a pattern without glob characters matches itself only. */
export function globMatcher(pattern: string): (s: string) => boolean {
  let m = matchers.get(pattern);
  if (!m) {
    if (!isGlob(pattern)) m = (s) => s === pattern;
    else {
      const glob = new Bun.Glob(pattern);
      m = (s) => glob.match(s);
    }
    if (matchers.size > 1000) matchers.clear();
    matchers.set(pattern, m);
  }
  return m;
}

/** Whether the host matches the expression. */
export function matchTarget(expr: TargetExpr, h: TargetHost): boolean {
  switch (expr.kind) {
    case "host":
      return globMatcher(expr.pattern)(h.id);
    case "cluster":
      return h.cluster === expr.name;
    case "env":
      return h.env === expr.name;
    case "role":
      return !!h.roles?.includes(expr.name);
    case "fact":
    case "var": {
      const match = globMatcher(expr.pattern);
      return valuesAt(expr.kind === "fact" ? h.facts : h.vars, expr.path).some((v) =>
        match(String(v)),
      );
    }
    case "and":
      return matchTarget(expr.left, h) && matchTarget(expr.right, h);
    case "or":
      return matchTarget(expr.left, h) || matchTarget(expr.right, h);
    case "not":
      return !matchTarget(expr.expr, h);
  }
}

/** The scalar values at `path` (own properties only; a list on the way means any of its items). */
export function valuesAt(root: unknown, path: readonly string[]): Array<string | number | boolean> {
  let here: unknown[] = [root];
  for (const key of path) {
    const next: unknown[] = [];
    for (const v of here.flatMap((x) => (Array.isArray(x) ? x : [x]))) {
      if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.hasOwn(v, key))
        next.push((v as Record<string, unknown>)[key]);
    }
    here = next;
  }
  return here
    .flatMap((x) => (Array.isArray(x) ? x : [x]))
    .filter((v): v is string | number | boolean =>
      ["string", "number", "boolean"].includes(typeof v),
    );
}

/** Every leaf of the expression (for checking names against the inventory). */
export function leaves(expr: TargetExpr): TargetExpr[] {
  if (expr.kind === "and" || expr.kind === "or")
    return [...leaves(expr.left), ...leaves(expr.right)];
  if (expr.kind === "not") return leaves(expr.expr);
  return [expr];
}

/** Whether a host leaf names this id exactly (no glob): such a host is reported missing even with ignore_missing. */
export function namesExactly(expr: TargetExpr, id: string): boolean {
  return leaves(expr).some((l) => l.kind === "host" && !isGlob(l.pattern) && l.pattern === id);
}
