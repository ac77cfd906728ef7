// Loading a TypeScript module given as source text: roles on the agent, and
// hosts/index.ts on the master. Imports are checked first (only node:*
// built-ins may be imported at run time; `import type` is erased); then the
// source goes into a fresh private temp dir (0700), is import()ed by Bun (so
// stack traces keep the TypeScript line numbers) and the dir is removed.
// Modules are cached by content hash for the life of the loader: the same
// text is evaluated once, a changed text is loaded anew. Errors name the file
// and line ("roles/nginx.ts:12: ...").

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";

export interface LoadedModule {
  namespace: Record<string, unknown>;
  /** Where Bun loaded it from: stack frames name this path (see lineIn). */
  loadedFrom: string;
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

interface Positioned {
  message?: string;
  position?: { line?: number } | null;
}

/** The first build error of a BuildMessage or an AggregateError of them. */
function firstBuildError(err: unknown): Positioned {
  return (err instanceof AggregateError && err.errors.length ? err.errors[0] : err) as Positioned;
}

/** Throw a clear error for a syntax error or a run-time import other than node:*. */
export function checkSource(source: string, filename: string, code = "E_MODULE"): void {
  let imports: { path: string }[];
  try {
    imports = transpiler.scanImports(source);
  } catch (err) {
    const first = firstBuildError(err);
    const line = first.position?.line;
    throw new SaltyError(`${filename}${line ? `:${line}` : ""}: syntax error: ${first.message ?? errorMessage(err)}`, code);
  }
  for (const imp of imports) {
    if (imp.path.startsWith("node:")) continue;
    const i = source.split("\n").findIndex((l) => l.includes(`"${imp.path}"`) || l.includes(`'${imp.path}'`));
    const hint = builtinModules.includes(imp.path) ? ` (write "node:${imp.path}" for a built-in)` : "";
    throw new SaltyError(`${filename}${i >= 0 ? `:${i + 1}` : ""}: imports "${imp.path}": only node:* built-ins may be imported at run time${hint}`, code);
  }
}

/** "file:line" of the innermost stack frame inside the loaded module, else just the file. */
export function lineIn(err: unknown, mod: { loadedFrom: string } | undefined, filename: string): string {
  const stack = err instanceof Error ? String(err.stack ?? "") : "";
  if (mod) {
    const at = stack.indexOf(`${mod.loadedFrom}:`);
    const m = at >= 0 ? /^:(\d+)/.exec(stack.slice(at + mod.loadedFrom.length)) : null;
    if (m) return `${filename}:${m[1]}`;
  }
  const line = firstBuildError(err).position?.line;
  return line ? `${filename}:${line}` : filename;
}

export class ModuleLoader {
  private readonly loaded = new Map<string, Promise<LoadedModule>>();

  /** Check, evaluate (once per content) and return the module; throws SaltyError(code) naming the file. */
  load(source: string, filename: string, code = "E_MODULE"): Promise<LoadedModule> {
    const key = hashBytes(source);
    let p = this.loaded.get(key);
    if (!p) {
      p = this.evaluate(source, filename, code);
      this.loaded.set(key, p);
      p.catch(() => this.loaded.delete(key));
    }
    return p;
  }

  private async evaluate(source: string, filename: string, code: string): Promise<LoadedModule> {
    checkSource(source, filename, code);
    const dir = await mkdtemp(join(tmpdir(), "salty-module-"));
    const file = join(dir, basename(filename).replace(/[^\w.-]/g, "_").replace(/(\.ts)?$/, ".ts"));
    try {
      await writeFile(file, source, { mode: 0o600 });
      const namespace = (await import(file)) as Record<string, unknown>;
      return { namespace, loadedFrom: file };
    } catch (err) {
      throw new SaltyError(`${lineIn(err, { loadedFrom: file }, filename)}: ${firstBuildError(err).message ?? errorMessage(err)}`, code);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
