// Loads a TypeScript module given as source text: hosts/index.ts on the
// master, roles on the agent. The source is checked first (a full parse, so a
// syntax error names file:line:col; only node:* built-ins may be imported at
// run time, and the local modules a role brings along (`modules`: roles/lib/,
// shipped by the master with the role, each checked the same way); imports
// used only as types are erased as Bun erases them);
// then the .ts source itself goes into a fresh private temp dir (0700), is
// import()ed by Bun (so stack frames keep the TypeScript line numbers, see
// lineIn) and the dir is removed. Modules are cached by content hash for the
// life of the process (or worker): the same text is evaluated once, a changed
// text is loaded anew, a failed load is retried at the next call. It must not
// evaluate a module before its imports are checked, nor leave files behind.
// Errors are SaltyError with the caller's code and name the file and line.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { hashBytes } from "./hash.ts";

export interface LoadModuleOptions {
  /** Shown in errors, e.g. "hosts/index.ts" or "roles/nginx.ts". */
  filename: string;
  /** The SaltyError code of every failure, e.g. "E_INVENTORY". */
  code: string;
  /** Local modules it may import relatively, by fileroot path ("roles/lib/util.ts"): the role's roles/lib/ files. */
  modules?: Record<string, string>;
}

/**
 * What a module may import from "salty" at run time (types are erased): defineRole. Written as
 * node_modules/salty beside the loaded files when one of them imports it at run time, so that the
 * import resolves to it.
 */
const SALTY_RUNTIME = `// salty's run-time exports for roles (lib/sys/load-module.ts)
export function defineRole(spec, run) {
  if (!spec || typeof spec !== "object" || typeof run !== "function") throw new TypeError("defineRole(spec, run): spec is { defaults: {...} }, run an async function (ctx, vars)");
  const defaults = spec.defaults && typeof spec.defaults === "object" ? spec.defaults : {};
  return (ctx) => run(ctx, Object.freeze({ ...defaults, ...(ctx && ctx.me && ctx.me.vars ? ctx.me.vars : {}) }));
}
`;

/** Where local modules live: relative imports must resolve below it. */
export const LOCAL_MODULES = "roles/lib/";

/** The fileroot path a relative import names ("./lib/util" from roles/web.ts: roles/lib/util.ts); undefined for a bare or node: specifier. Pure. */
export function resolveLocal(importer: string, spec: string): string | undefined {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return undefined;
  const path = posix.normalize(posix.join(posix.dirname(importer), spec));
  return /\.[cm]?[jt]s$/.test(path) ? path : `${path}.ts`;
}

export interface LoadedModule {
  namespace: Record<string, unknown>;
  /** Where Bun loaded it from: stack frames name this path (see lineIn). */
  loadedFrom: string;
}

// Only for the check: drops imports used only as types, as Bun's own loader does.
const transpiler = new Bun.Transpiler({ loader: "ts", target: "bun", trimUnusedImports: true });
const cache = new Map<string, Promise<LoadedModule>>();

/** Check, evaluate (once per filename and text) and return the module; throws SaltyError(opts.code) naming the file. */
export function loadModule(source: string, opts: LoadModuleOptions): Promise<LoadedModule> {
  const mods = Object.entries(opts.modules ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const key = hashBytes(
    `${opts.filename}\0${source}${mods.map(([p, text]) => `\0${p}\0${hashBytes(text)}`).join("")}`,
  );
  let loading = cache.get(key);
  if (!loading) {
    loading = evaluate(source, opts);
    cache.set(key, loading);
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

/** "file:line" of the innermost stack frame inside the loaded module, else the error's position, else just the file. */
export function lineIn(
  err: unknown,
  mod: { loadedFrom: string } | undefined,
  filename: string,
): string {
  const stack = err instanceof Error ? String(err.stack ?? "") : "";
  if (mod) {
    const at = stack.indexOf(`${mod.loadedFrom}:`);
    const m = at >= 0 ? /^:(\d+)/.exec(stack.slice(at + mod.loadedFrom.length)) : null;
    if (m) return `${filename}:${m[1]}`;
  }
  const line = firstBuildError(err).position?.line;
  return line ? `${filename}:${line}` : filename;
}

interface Positioned {
  message?: string;
  position?: { line?: number; column?: number } | null;
}

/** The first build error of a BuildMessage or an AggregateError of them. */
function firstBuildError(err: unknown): Positioned {
  return (
    err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err
  ) as Positioned;
}

/**
 * The checks loadModule makes before it evaluates anything (syntax, imports; the same of each module), without
 * evaluating. True when one of them imports "salty" at run time (defineRole): only then is its runtime written.
 */
export function checkModule(source: string, opts: LoadModuleOptions): boolean {
  let salty = checkImports(source, transpile(source, opts), opts);
  for (const [path, text] of Object.entries(opts.modules ?? {}))
    if (
      checkImports(text, transpile(text, { ...opts, filename: path }), { ...opts, filename: path })
    )
      salty = true;
  return salty;
}

async function evaluate(source: string, opts: LoadModuleOptions): Promise<LoadedModule> {
  const modules = opts.modules ?? {};
  // Each module it brings is checked like it (syntax, imports) before anything is evaluated.
  const salty = checkModule(source, opts);
  const dir = await mkdtemp(join(tmpdir(), "salty-module-"));
  // With modules, the fileroot's layout (roles/NAME.ts beside roles/lib/) so that relative imports resolve.
  const local = Object.keys(modules).length > 0;
  const file = local
    ? join(dir, opts.filename)
    : join(
        dir,
        basename(opts.filename)
          .replace(/[^\w.-]/g, "_")
          .replace(/(\.ts)?$/, ".ts"),
      );
  try {
    for (const [path, text] of Object.entries(modules)) {
      await mkdir(dirname(join(dir, path)), { recursive: true, mode: 0o700 });
      await writeFile(join(dir, path), text, { mode: 0o600 });
    }
    if (local) await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // Most modules import "salty" for its types only (erased): then no runtime package, two files and
    // two directories fewer to create and remove (25 µs to 0.6 ms each on a busy disk).
    if (salty) {
      await mkdir(join(dir, "node_modules", "salty"), { recursive: true, mode: 0o700 });
      await writeFile(
        join(dir, "node_modules", "salty", "package.json"),
        `{"name":"salty","type":"module","main":"index.js"}\n`,
        { mode: 0o600 },
      );
      await writeFile(join(dir, "node_modules", "salty", "index.js"), SALTY_RUNTIME, {
        mode: 0o600,
      });
    }
    await writeFile(file, source, { mode: 0o600 });
    return { namespace: (await import(file)) as Record<string, unknown>, loadedFrom: file };
  } catch (err) {
    throw new SaltyError(
      `${lineIn(err, { loadedFrom: file }, opts.filename)}: ${firstBuildError(err).message ?? errorMessage(err)}`,
      opts.code,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JavaScript Bun would run, used only to find syntax errors and the imports that remain. */
function transpile(source: string, opts: LoadModuleOptions): string {
  try {
    return transpiler.transformSync(source);
  } catch (err) {
    const first = firstBuildError(err);
    const pos = first.position;
    const where = pos?.line
      ? `${opts.filename}:${pos.line}${pos.column ? `:${pos.column}` : ""}`
      : opts.filename;
    throw new SaltyError(
      `${where}: syntax error: ${first.message ?? errorMessage(err)}`,
      opts.code,
    );
  }
}

/** Throws for an import that may not run; true when "salty" is imported at run time. */
function checkImports(source: string, js: string, opts: LoadModuleOptions): boolean {
  let salty = false;
  for (const imp of transpiler.scanImports(js)) {
    if (imp.path === "salty") salty = true;
    if (imp.path.startsWith("node:") || imp.path === "salty") continue;
    const line = lineOf(source, imp.path);
    const where = line ? `${opts.filename}:${line}` : opts.filename;
    const local = resolveLocal(opts.filename, imp.path);
    if (local !== undefined) {
      if (!local.startsWith(LOCAL_MODULES) || !local.endsWith(".ts")) {
        throw new SaltyError(
          `${where}: imports "${imp.path}": only node:* built-ins may be imported at run time, and .ts modules under ${LOCAL_MODULES} relatively (this is ${local})`,
          opts.code,
        );
      }
      if (opts.modules?.[local] === undefined)
        throw new SaltyError(
          `${where}: imports "${imp.path}": no such module ${local} in the fileroot`,
          opts.code,
        );
      continue;
    }
    // builtinModules also lists "bun:sqlite" and the like: no "node:" hint for those.
    const builtin = !imp.path.includes(":") && builtinModules.includes(imp.path);
    const hint = builtin ? ` (write "node:${imp.path}" for a built-in)` : "";
    throw new SaltyError(
      `${where}: imports "${imp.path}": only node:* built-ins may be imported at run time${hint}`,
      opts.code,
    );
  }
  return salty;
}

/** The 1-based line of the first quoted occurrence of `spec` in `source`. */
function lineOf(source: string, spec: string): number | undefined {
  const i = source
    .split("\n")
    .findIndex(
      (l) => l.includes(`"${spec}"`) || l.includes(`'${spec}'`) || l.includes(`\`${spec}\``),
    );
  return i === -1 ? undefined : i + 1;
}
