// What an agent remembers between applies so that unchanged roles cost
// milliseconds: content hashes of destination files by stat identity, template
// sources by fileroot path, compiled templates by content hash. One object,
// owned by the agent process and passed in. Plain data: no I/O here.

import { StatCache } from "../sys/stat-cache.ts";

export interface TemplateSource {
  hash: string;
  text: string;
  /** Decrypted from an `.enc` file: what it renders is never shown in a diff. */
  secret?: boolean;
}

// biome-ignore lint: a compiled EJS function takes any locals
export type TemplateFn = (locals: Record<string, any>) => string;

/** A Map that drops its oldest entries beyond `max` (a Map iterates in insertion order). */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.max) {
      const first = this.keys().next();
      if (first.done) break;
      super.delete(first.value);
    }
    return this;
  }
}

/**
 * Compiled templates by content: the same text compiles to the same function, which keeps no state
 * between renders, so the executors of one thread may share them (runner.ts does, as load-module.ts
 * shares role modules: several simulated agents in one process compile and warm each template once).
 */
export class CompiledTemplates {
  /** `${path}\0${hash}` -> compiled template. */
  readonly compiled = new BoundedMap<string, TemplateFn>(5_000);
  /** `${path}\0${hash}\0${local names}` -> the template with its locals as variables; null when it cannot be (_template.ts). */
  readonly named = new BoundedMap<string, TemplateFn | null>(5_000);
}

export class AgentCache {
  /** Its own compiled templates unless given the thread's (`forms`). */
  constructor(private readonly forms = new CompiledTemplates()) {}

  /** Real destination path -> its hash while its stat identity holds. */
  readonly hashes = new StatCache<string>(new BoundedMap(200_000));
  /** "files/..." path -> the last source the master sent. */
  readonly templates = new BoundedMap<string, TemplateSource>(5_000);
  /** `${path}\0${hash}` -> compiled template. */
  get compiled(): BoundedMap<string, TemplateFn> {
    return this.forms.compiled;
  }
  /** `${path}\0${hash}\0${local names}` -> the template with its locals as variables; null when it cannot be (_template.ts). */
  get named(): BoundedMap<string, TemplateFn | null> {
    return this.forms.named;
  }
  /** Template path -> the includes its last render used (fetched together next time). */
  readonly includes = new BoundedMap<string, string[]>(5_000);
  /** `${content hash}\0${line}\0${replace}` of files known to hold the line (lineInFile). */
  readonly lines = new BoundedMap<string, true>(50_000);

  /** Package manager -> its installed set and the identity of its database file when it was read (pkg). */
  readonly packages = new Map<string, { key: string; installed: Map<string, string> }>();

  /** Remember a template source; its previous compiled version is dropped. */
  setTemplate(path: string, src: TemplateSource): void {
    const old = this.templates.get(path);
    if (old && old.hash !== src.hash) {
      this.compiled.delete(`${path}\0${old.hash}`);
      const prefix = `${path}\0${old.hash}\0`;
      for (const key of this.named.keys()) if (key.startsWith(prefix)) this.named.delete(key);
    }
    this.templates.set(path, src);
  }
}
