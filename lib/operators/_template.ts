// EJS templates for render: sources fetched from the master by hash (an
// unchanged template costs one small round trip), compiled once per content
// hash, rendered with `<%= x %>` unescaped (configuration is not HTML), and
// `include("x")` of other templates under files/ (resolved against the
// including template, fetched on demand, remembered for the next render).
// Errors name the template file and line.
//
// EJS runs a template inside `with (locals)`, where every name is looked up
// at run time, and the agent runs each template once per apply, in the
// interpreter (lib/jit-policy.ts): four times slower than the same template
// with the locals bound as variables. So a template is also compiled that
// way, per set of local names (EJS's destructuredLocals), and run so when
// nothing can tell the two apart (`named`); else, and whenever that form does
// not compile (a template that declares a name of its locals), as EJS does.
//
// A role sent without the shared hosts (its code names neither `hosts` nor
// `getIps`: lib/master/shared-hosts.ts) has no `hosts` among its locals; a
// template that names them (in its code, `namesHosts`) loads them first
// (ctx.loadHosts), and one that does not never sees them: no accessor on
// the locals, which both forms of a template read whole.

import ejs from "ejs";
import { posix } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import type { TemplateFn, TemplateSource } from "./cache.ts";
import { fetchSource } from "./copy.ts";
import { readAll } from "./_read-all.ts";
import type { OpCtx } from "./types.ts";

/** A template failed: kept as fields, because EJS rewrites the message of errors passing through. */
class TemplateFailure {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {}
  toError(): SaltyError {
    return new SaltyError(
      `${this.file}${this.line ? `:${this.line}` : ""}: ${this.detail}`,
      "E_TEMPLATE",
    );
  }
}

/** An include that is not fetched yet: the render is retried once it is. */
class MissingInclude {
  // Not `path`: EJS sets err.path on everything thrown through a template.
  constructor(readonly wanted: string) {}
}

const asIs = (v: unknown) => (v === undefined || v === null ? "" : String(v));
const options = (filename: string) => ({
  filename,
  escape: asIs,
  compileDebug: true,
  localsName: "locals",
});
const transpiler = new Bun.Transpiler({ loader: "js" });
const MAX_DEPTH = 20;
const MAX_INCLUDES = 500;

/** The line of a "<%" that is never closed. */
function unclosedLine(text: string): number | undefined {
  let open: number | undefined;
  for (const m of text.matchAll(/<%%|%%>|<%|%>/g)) {
    if (m[0] === "<%" && open === undefined) open = m.index;
    else if (m[0] === "%>") open = undefined;
  }
  return open === undefined ? undefined : text.slice(0, open).split("\n").length;
}

/** The template line of a syntax error: an unclosed tag, or EJS's `__line = N` marker before the JavaScript error. */
function syntaxLine(text: string, file: string): number | undefined {
  // biome-ignore lint: EJS's Template class is untyped
  const t = new (ejs as any).Template(text, options(file));
  try {
    t.compile();
    return undefined;
  } catch (err) {
    // Expected: the generated source is kept on the instance, unless a tag was never closed.
    if (/matching close tag/.test(errorMessage(err))) return unclosedLine(text);
  }
  try {
    transpiler.transformSync(`(function(){\n${t.source ?? ""}\n})`);
  } catch (err) {
    const first = err instanceof AggregateError ? err.errors[0] : err;
    const at = (first as { position?: { line?: number } }).position?.line;
    const lines = String(t.source ?? "")
      .split("\n")
      .slice(0, (at ?? 2) - 1);
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = /__line = (\d+)/.exec(lines[i]!);
      if (m) return Number(m[1]);
    }
    return 1;
  }
  return undefined;
}

function compile(ctx: OpCtx, file: string, src: TemplateSource): TemplateFn {
  const key = `${file}\0${src.hash}`;
  const hit = ctx.cache.compiled.get(key);
  if (hit) return hit;
  let fn: TemplateFn;
  try {
    fn = ejs.compile(src.text, options(file)) as TemplateFn;
  } catch (err) {
    const detail = errorMessage(err).split(" in files/")[0]!.split(" while compiling ejs")[0]!;
    throw new TemplateFailure(file, syntaxLine(src.text, file), `syntax error: ${detail}`);
  }
  ctx.cache.compiled.set(key, fn);
  return fn;
}

/** Names that are not free variables of a template's code, or that EJS's own code uses. */
const NOT_NAMES = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await arguments eval undefined NaN Infinity constructor locals escapeFn rethrow"
  ).split(" "),
);
const NAME = /^[A-Za-z_$][\w$]*$/;

/**
 * The template compiled with `locals`' names bound as variables, when it then renders exactly as
 * under `with (locals)`: every key is a plain name (none of EJS's own, none starting with `__`),
 * every function among them is salty's own (a role's function found through `with` would be
 * called with the locals as `this`; EJS leaves a key `constructor` out), and the template never
 * says `locals`, `arguments`, `delete` or `eval` (which see or change the locals object itself).
 * Undefined otherwise, or when that form does not compile; the caller then runs `compile()`'s.
 */
function named(
  ctx: OpCtx,
  file: string,
  src: TemplateSource,
  locals: Record<string, unknown>,
  own: (f: unknown) => boolean,
): TemplateFn | undefined {
  const names = Object.keys(locals);
  for (const k of names) {
    if (!NAME.test(k) || NOT_NAMES.has(k) || k.startsWith("__")) return undefined;
    if (typeof locals[k] === "function" && !own(locals[k])) return undefined;
  }
  const key = `${file}\0${src.hash}\0${names.join(",")}`;
  if (ctx.cache.named.has(key)) return ctx.cache.named.get(key) ?? undefined;
  let fn: TemplateFn | null = null;
  if (!/\b(locals|arguments|delete|eval)\b/.test(src.text)) {
    try {
      const opts = { ...options(file), _with: false, destructuredLocals: names };
      fn = ejs.compile(src.text, opts) as TemplateFn;
    } catch {} // a name declared again by the template: it runs under `with`
  }
  ctx.cache.named.set(key, fn);
  return fn ?? undefined;
}

/** An error thrown while rendering, as EJS reports it ("file:line\n context\n\nmessage"). */
function failure(err: unknown, file: string): TemplateFailure {
  if (err instanceof TemplateFailure) return err;
  const msg = errorMessage(err);
  const m = /^(.*):(\d+)\n[\s\S]*?\n\n([\s\S]*)$/.exec(msg);
  return m
    ? new TemplateFailure(m[1]!, Number(m[2]), m[3]!)
    : new TemplateFailure(file, undefined, msg);
}

/**
 * The words by which a template's code reaches the shared hosts: `hosts`, `getIps` (computed from
 * them), or every local at once (`locals`, `arguments`, `eval`: see named()). The master's check of
 * roles is the same word match (lib/master/shared-hosts.ts HOSTS_WORDS).
 */
const HOSTS_CODE = /\b(?:hosts|getIps|locals|arguments|eval)\b/;
const namesOf = new WeakMap<TemplateSource, boolean>();

/** Whether the template's code (what lies between `<%` and `%>`; the text around it is never evaluated) says one of them. */
function namesHosts(src: TemplateSource): boolean {
  let names = namesOf.get(src);
  if (names === undefined) {
    let code = "";
    let open: number | undefined;
    for (const m of src.text.matchAll(/<%%|%%>|<%|%>/g)) {
      if (m[0] === "<%" && open === undefined) open = m.index + 2;
      else if (m[0] === "%>" && open !== undefined) {
        code += `${src.text.slice(open, m.index)}\n`;
        open = undefined;
      }
    }
    if (open !== undefined) code += src.text.slice(open); // never closed: a syntax error, but counted
    names = HOSTS_CODE.test(code);
    namesOf.set(src, names);
  }
  return names;
}

/** The locals with the shared hosts the role was sent without, loaded when a template used names them; else as they are. */
async function withHosts(
  ctx: OpCtx,
  file: string,
  r: Render,
  locals: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (!ctx.loadHosts || ![...r.sources.values()].some(namesHosts)) return locals;
  let hosts: Record<string, unknown>;
  try {
    hosts = await ctx.loadHosts();
  } catch (err) {
    throw new SaltyError(`${file}: hosts: ${errorMessage(err)}`, "E_TEMPLATE");
  }
  return Object.hasOwn(locals, "hosts") ? locals : { ...locals, hosts };
}

function resolveInclude(from: string, name: unknown): string {
  if (typeof name !== "string" || name === "")
    throw new TemplateFailure(from, undefined, "include() needs a file name");
  const path = posix.normalize(
    name.startsWith("/") ? posix.join("files", name) : posix.join(posix.dirname(from), name),
  );
  if (!path.startsWith("files/"))
    throw new TemplateFailure(from, undefined, `include outside files/: ${name}`);
  return path;
}

interface Render {
  ctx: OpCtx;
  sources: Map<string, TemplateSource>;
  used: Set<string>;
}

function renderFile(
  r: Render,
  file: string,
  locals: Record<string, unknown>,
  depth: number,
): string {
  const src = r.sources.get(file);
  if (!src) throw new MissingInclude(file);
  const fn = compile(r.ctx, file, src);
  const include = (name: unknown, data?: Record<string, unknown>) => {
    const child = resolveInclude(file, name);
    if (depth >= MAX_DEPTH)
      throw new TemplateFailure(file, undefined, `includes nested deeper than ${MAX_DEPTH}`);
    r.used.add(child);
    return renderFile(r, child, { ...locals, ...data }, depth + 1);
  };
  const all = { ...locals, include };
  try {
    return (named(r.ctx, file, src, all, (f) => f === include || ownFunctions(r.ctx).has(f)) ?? fn)(
      all,
    );
  } catch (err) {
    if (err instanceof MissingInclude) throw err;
    throw failure(err, file);
  }
}

const owned = new WeakMap<object, Set<unknown>>();

/** The functions salty puts in a role's locals (path, myIp, getIps, quote), once per role run. */
function ownFunctions(ctx: OpCtx): Set<unknown> {
  let set = owned.get(ctx.locals);
  if (!set) {
    set = new Set(Object.values(ctx.locals).filter((v) => typeof v === "function"));
    owned.set(ctx.locals, set);
  }
  return set;
}

async function load(ctx: OpCtx, file: string): Promise<TemplateSource> {
  const cached = ctx.cache.templates.get(file);
  const got = await fetchSource(ctx.files, file, cached?.hash);
  if (cached && got.hash === cached.hash) return cached;
  const data = got.data ?? (await readAll(ctx.files, file, got.size));
  const src: TemplateSource = {
    hash: got.hash,
    text: new TextDecoder().decode(data),
    ...(got.secret ? { secret: true } : {}),
  };
  ctx.cache.setTemplate(file, src);
  return src;
}

/** Render files/… with `locals`; includes used last time are fetched along with it. `secret`: a template used came from an `.enc` file. */
export async function renderTemplate(
  ctx: OpCtx,
  file: string,
  locals: Record<string, unknown>,
): Promise<{ text: string; secret: boolean }> {
  const r: Render = { ctx, sources: new Map(), used: new Set() };
  const known = ctx.cache.includes.get(file) ?? [];
  const [main] = await Promise.all([
    load(ctx, file),
    ...known.map((p) =>
      load(ctx, p).then(
        (s) => r.sources.set(p, s),
        () => {},
      ),
    ),
  ]);
  r.sources.set(file, main);
  for (let round = 0; ; round++) {
    if (round > MAX_INCLUDES)
      throw new SaltyError(`${file}: more than ${MAX_INCLUDES} includes`, "E_TEMPLATE");
    r.used = new Set();
    // Each round: an include fetched in the last one may be the first to name the hosts.
    const all = await withHosts(ctx, file, r, locals);
    try {
      const text = renderFile(r, file, all, 0);
      ctx.cache.includes.set(file, [...r.used]);
      const secret = [file, ...r.used].some((p) => r.sources.get(p)?.secret === true);
      return { text, secret };
    } catch (err) {
      if (err instanceof TemplateFailure) throw err.toError();
      if (!(err instanceof MissingInclude)) throw err;
      try {
        r.sources.set(err.wanted, await load(ctx, err.wanted));
      } catch (e) {
        throw new SaltyError(`${file}: include: ${errorMessage(e)}`, "E_TEMPLATE");
      }
    }
  }
}
