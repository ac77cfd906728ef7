// A bundle's top.ts: which hosts get which of the project's roles, per
// deployment (`export default { prod: { "role:web and env:prod": ["app"] } }`).
// It comes from an untrusted bundle, so it is never evaluated on the master:
// Bun's transpiler strips the types, then a literal parser accepts only
// objects, arrays and strings. Pure: no I/O.

import { SaltyError } from "../errors.ts";
import { parseTarget, type TargetExpr } from "../inventory/target.ts";

export type TopSection = Array<{ target: string; expr: TargetExpr; roles: string[] }>;

const bad = (why: string) => new SaltyError(`top.ts: ${why}`, "E_TOPFILE");
const transpiler = new Bun.Transpiler({ loader: "ts", target: "bun", trimUnusedImports: true });

type Literal = string | Literal[] | { [k: string]: Literal };

class LiteralParser {
  private i = 0;
  constructor(private s: string) {}
  private ws(): void {
    for (;;) {
      const m = /^(\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(this.s.slice(this.i));
      if (!m) return;
      this.i += m[0].length;
    }
  }
  peek(): string {
    this.ws();
    return this.s[this.i] ?? "";
  }
  eat(c: string): void {
    if (this.peek() !== c)
      throw bad(
        `expected ${JSON.stringify(c)} at offset ${this.i}, found ${JSON.stringify(this.s.slice(this.i, this.i + 20))} (only a literal object of strings and arrays)`,
      );
    this.i++;
  }
  rest(): string {
    this.ws();
    return this.s.slice(this.i);
  }
  string(): string {
    const q = this.peek();
    const m = (q === '"' ? /^"(?:[^"\\\n]|\\.)*"/ : /^'(?:[^'\\\n]|\\.)*'/).exec(
      this.s.slice(this.i),
    );
    if (!m) throw bad(`unterminated string at offset ${this.i}`);
    this.i += m[0].length;
    const body = m[0].slice(1, -1);
    return JSON.parse(
      `"${q === "'" ? body.replace(/\\'/g, "'").replace(/"/g, '\\"') : body}"`,
    ) as string;
  }
  key(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    const m = /^[A-Za-z_$][\w$-]*/.exec(this.s.slice(this.i));
    if (!m) throw bad(`expected a key at offset ${this.i}`);
    this.i += m[0].length;
    return m[0];
  }
  value(): Literal {
    const c = this.peek();
    if (c === "{") {
      this.eat("{");
      const o: Record<string, Literal> = Object.create(null);
      while (this.peek() !== "}") {
        const k = this.key();
        this.eat(":");
        o[k] = this.value();
        if (this.peek() === ",") this.eat(",");
        else break;
      }
      this.eat("}");
      return o;
    }
    if (c === "[") {
      this.eat("[");
      const a: Literal[] = [];
      while (this.peek() !== "]") {
        a.push(this.value());
        if (this.peek() === ",") this.eat(",");
        else break;
      }
      this.eat("]");
      return a;
    }
    if (c === '"' || c === "'") return this.string();
    throw bad(
      `only strings, arrays and objects are allowed, found ${JSON.stringify(this.s.slice(this.i, this.i + 20))} at offset ${this.i}`,
    );
  }
}

const ROLE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** The section of `deployment`, its targets parsed, in file order; refuses anything but the literal shape. */
export function topSection(source: string, deployment: string): TopSection {
  let js: string;
  try {
    js = transpiler.transformSync(source);
  } catch (err) {
    throw bad(`syntax error: ${(err as Error).message}`);
  }
  const body = js.replace(/^\s*export\s+default\s+/, "");
  if (body === js) throw bad("must be `export default { DEPLOYMENT: { TARGET: [ROLE, ...] } }`");
  const p = new LiteralParser(body);
  const top = p.value();
  if (p.peek() === ";") p.eat(";");
  if (p.rest() !== "")
    throw bad(`unexpected ${JSON.stringify(p.rest().slice(0, 30))} after the default export`);
  if (typeof top !== "object" || Array.isArray(top))
    throw bad("the default export must be an object of deployments");
  const section = Object.hasOwn(top, deployment) ? top[deployment] : undefined;
  if (section === undefined)
    throw bad(
      `no section for deployment ${deployment} (has: ${Object.keys(top).join(", ") || "none"})`,
    );
  if (typeof section !== "object" || Array.isArray(section))
    throw bad(`${deployment} must be an object of TARGET: [ROLE, ...]`);
  return Object.entries(section).map(([target, roles]) => {
    if (
      !Array.isArray(roles) ||
      !roles.every((r): r is string => typeof r === "string" && ROLE.test(r))
    )
      throw bad(`${deployment}["${target}"] must be a list of role names`);
    let expr: TargetExpr;
    try {
      expr = parseTarget(target);
    } catch (err) {
      throw bad(`${deployment}: ${(err as Error).message}`);
    }
    return { target, expr, roles };
  });
}
