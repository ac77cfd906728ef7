// Loads a TypeScript module given as source text (hosts/index.ts on the
// master; usable for roles on the agent): transpiles it with Bun.Transpiler,
// refuses every run-time import but `node:*` built-ins, writes the JavaScript
// into a private temp dir (mode 0700, removed right after) and import()s it.
// Modules are cached by content hash: the same text is evaluated once per
// process, a changed text is loaded anew, so edits take effect without a
// restart. It must not evaluate a module before its imports are checked, nor
// leave files behind. Errors are SaltyError with the caller's code and name
// the file (and line, for syntax errors and refused imports).

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { hashBytes } from "./hash.ts";

export interface LoadModuleOptions {
  /** Shown in errors, e.g. "hosts/index.ts". */
  filename: string;
  /** The SaltyError code of every failure, e.g. "E_INVENTORY". */
  code: string;
}

export type ModuleNamespace = Record<string, unknown>;

// Imports only used as types ("import { Inventory } from 'salty'") are dropped.
const transpiler = new Bun.Transpiler({ loader: "ts", target: "bun", trimUnusedImports: true });
const cache = new Map<string, Promise<ModuleNamespace>>();

/** Transpile, check imports and evaluate `source`; the same text returns the same (cached) namespace. */
export function loadModuleSource(source: string, opts: LoadModuleOptions): Promise<ModuleNamespace> {
  const js = transpile(source, opts);
  checkImports(source, js, opts);
  const key = hashBytes(js);
  let loading = cache.get(key);
  if (!loading) {
    loading = evaluate(js, key, opts);
    cache.set(key, loading);
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

function transpile(source: string, opts: LoadModuleOptions): string {
  try {
    return transpiler.transformSync(source);
  } catch (err) {
    const first = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
    const pos = (first as { position?: { line?: number; column?: number } | null }).position;
    const where = pos?.line ? `${opts.filename}:${pos.line}:${pos.column ?? 0}` : opts.filename;
    throw new SaltyError(`${where}: syntax error: ${errorMessage(first)}`, opts.code);
  }
}

function checkImports(source: string, js: string, opts: LoadModuleOptions): void {
  for (const imp of transpiler.scanImports(js)) {
    if (imp.path.startsWith("node:")) continue;
    const line = lineOf(source, imp.path);
    const where = line ? `${opts.filename}:${line}` : opts.filename;
    const hint = /^[a-z_]+$/.test(imp.path) ? ` (write "node:${imp.path}" for a built-in)` : "";
    throw new SaltyError(`${where}: imports "${imp.path}": only node:* built-ins may be imported at run time${hint}`, opts.code);
  }
}

/** The 1-based line of the first quoted occurrence of `spec` in `source`. */
function lineOf(source: string, spec: string): number | undefined {
  const lines = source.split("\n");
  const i = lines.findIndex((l) => l.includes(`"${spec}"`) || l.includes(`'${spec}'`) || l.includes(`\`${spec}\``));
  return i === -1 ? undefined : i + 1;
}

async function evaluate(js: string, key: string, opts: LoadModuleOptions): Promise<ModuleNamespace> {
  const dir = await mkdtemp(join(tmpdir(), "salty-module-"));
  try {
    const file = join(dir, `${key.slice(0, 16)}.mjs`);
    await writeFile(file, js, { mode: 0o600 });
    return (await import(file)) as ModuleNamespace;
  } catch (err) {
    throw new SaltyError(`${opts.filename}: failed to load: ${errorMessage(err)}`, opts.code);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
