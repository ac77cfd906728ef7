// Commands as citty defines and runs them, without citty at run time: citty
// parses a command's words with node:util's parseArgs, and loading node:util
// cost every command 1-3 ms of CPU (docs/performance.md). This is citty 0.2's
// parse (its parseArgs and parseRawArgs, scule's case functions) with node:util's
// non-strict parseArgs written out; the words give the same values, the same
// errors (test/client/command-parse.test.ts compares every command's definition
// against citty itself). citty stays for the types (ArgsDef, CommandDef).

import type { ArgsDef, CommandDef, CommandContext, ParsedArgs } from "citty";

/** citty's defineCommand: the definition itself, typed. */
export function defineCommand<const T extends ArgsDef = ArgsDef>(
  def: CommandDef<T>,
): CommandDef<T> {
  return def;
}

/** citty's usage error (main.ts's describeError knows it by its name). */
export class CLIError extends Error {
  constructor(
    message: string,
    public code?: string,
  ) {
    super(message);
    this.name = "CLIError";
  }
}

const noColor = (() => {
  const env = globalThis.process?.env ?? {};
  return env.NO_COLOR === "1" || env.TERM === "dumb" || env.TEST || env.CI;
})();
const cyan = (t: string) => (noColor ? t : `\x1b[36m${t}\x1b[39m`);

type Resolvable<T> = T | Promise<T> | (() => T | Promise<T>);
const resolveValue = <T>(v: Resolvable<T>): T | Promise<T> =>
  typeof v === "function" ? (v as () => T | Promise<T>)() : v;

/**
 * citty's runCommand for salty's commands (no plugins, setup, cleanup or default sub-command): the words parsed, a
 * sub-command named among them run first (main.ts has walked to the one named, so in practice
 * none), then the command's run().
 */
export async function runCommand<T extends ArgsDef = ArgsDef>(
  cmd: CommandDef<T>,
  opts: { rawArgs: string[] },
): Promise<{ result: unknown }> {
  const cmdArgs = (await resolveValue(cmd.args ?? {})) as T;
  const args = parseArgs<T>(opts.rawArgs, cmdArgs);
  const context = { rawArgs: opts.rawArgs, args, data: undefined, cmd } as CommandContext<T>;
  const subCommands = await resolveValue(cmd.subCommands);
  if (subCommands && Object.keys(subCommands).length > 0) {
    const index = subCommandIndex(opts.rawArgs, cmdArgs);
    const name = opts.rawArgs[index];
    if (name) {
      const sub = await findSubCommand(subCommands as SubCommands, name);
      if (!sub) throw new CLIError(`Unknown command ${cyan(name)}`, "E_UNKNOWN_COMMAND");
      await runCommand(sub, { rawArgs: opts.rawArgs.slice(index + 1) });
    } else if (!cmd.run) throw new CLIError(`No command specified.`, "E_NO_COMMAND");
  }
  return { result: typeof cmd.run === "function" ? await cmd.run(context) : undefined };
}

type SubCommands = Record<string, Resolvable<CommandDef>>;

async function findSubCommand(subs: SubCommands, name: string): Promise<CommandDef | undefined> {
  if (name in subs) return (await resolveValue(subs[name]!)) as CommandDef;
  for (const sub of Object.values(subs)) {
    const resolved = (await resolveValue(sub)) as CommandDef | undefined;
    const meta = await resolveValue(resolved?.meta);
    const alias = (meta as { alias?: string | string[] } | undefined)?.alias;
    if (alias && (Array.isArray(alias) ? alias : [alias]).includes(name)) return resolved;
  }
  return undefined;
}

/** The first word that is neither an option nor an option's value; -1 when none comes before `--`. */
function subCommandIndex(rawArgs: string[], argsDef: ArgsDef): number {
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") return -1;
    if (arg.startsWith("-")) {
      if (!arg.includes("=") && isValueFlag(arg, argsDef)) i++;
      continue;
    }
    return i;
  }
  return -1;
}

function isValueFlag(flag: string, argsDef: ArgsDef): boolean {
  const name = flag.replace(/^-{1,2}/, "");
  const normalized = camelCase(name);
  for (const [key, def] of Object.entries(argsDef)) {
    if (def.type !== "string" && def.type !== "enum") continue;
    if (normalized === camelCase(key)) return true;
    const alias = "alias" in def ? def.alias : undefined;
    if ((Array.isArray(alias) ? alias : alias ? [alias] : []).includes(name)) return true;
  }
  return false;
}

// ---- citty's parseArgs ----

interface Arg {
  name: string;
  type?: string;
  alias: string[];
  default?: unknown;
  required?: boolean;
  options?: string[];
}

/** A command's words as citty gives them to run(): values by name (camelCase and kebab-case alike) and `_`. */
export function parseArgs<T extends ArgsDef = ArgsDef>(
  rawArgs: string[],
  argsDef: T,
): ParsedArgs<T> {
  const parseOptions: RawOptions = { boolean: [], string: [], alias: {}, default: {} };
  const args: Arg[] = Object.entries(argsDef || {}).map(([name, def]) => {
    const alias = "alias" in def ? def.alias : undefined;
    return {
      ...def,
      name,
      alias: Array.isArray(alias) ? alias : alias === undefined ? [] : [alias],
    } as Arg;
  });
  for (const arg of args) {
    if (arg.type === "positional") continue;
    if (arg.type === "string" || arg.type === "enum") parseOptions.string.push(arg.name);
    else if (arg.type === "boolean") parseOptions.boolean.push(arg.name);
    if (arg.default !== undefined) parseOptions.default[arg.name] = arg.default;
    parseOptions.alias[arg.name] = arg.alias;
    const camelName = camelCase(arg.name);
    const kebabName = kebabCase(arg.name);
    if (camelName !== arg.name || kebabName !== arg.name) {
      const given = parseOptions.alias[arg.name] || [];
      const existing = Array.isArray(given) ? given : [given];
      if (camelName !== arg.name && !existing.includes(camelName)) existing.push(camelName);
      if (kebabName !== arg.name && !existing.includes(kebabName)) existing.push(kebabName);
      if (existing.length > 0) parseOptions.alias[arg.name] = existing;
    }
  }
  const parsed = parseRawArgs(rawArgs, parseOptions);
  const [...positionals] = parsed._;
  const proxy = new Proxy(parsed, {
    get(target, prop) {
      const p = prop as string;
      return target[p] ?? target[camelCase(p)] ?? target[kebabCase(p)];
    },
  });
  for (const arg of args) {
    if (arg.type === "positional") {
      const next = positionals.shift();
      if (next !== undefined) proxy[arg.name] = next;
      else if (arg.default === undefined && arg.required !== false)
        throw new CLIError(
          `Missing required positional argument: ${arg.name.toUpperCase()}`,
          "EARG",
        );
      else proxy[arg.name] = arg.default;
    } else if (arg.type === "enum") {
      const value = proxy[arg.name];
      const options = arg.options || [];
      if (value !== undefined && options.length > 0 && !options.includes(value as string))
        throw new CLIError(
          `Invalid value for argument: ${cyan(`--${arg.name}`)} (${cyan(value as string)}). Expected one of: ${options.map((o) => cyan(o)).join(", ")}.`,
          "EARG",
        );
    } else if (arg.required && proxy[arg.name] === undefined)
      throw new CLIError(`Missing required argument: --${arg.name}`, "EARG");
  }
  return proxy as ParsedArgs<T>;
}

interface RawOptions {
  boolean: string[];
  string: string[];
  alias: Record<string, string | string[]>;
  default: Record<string, unknown>;
}

type Values = Record<string, unknown> & { _: string[] };

function parseRawArgs(args: string[], opts: RawOptions): Values {
  const booleans = new Set(opts.boolean);
  const strings = new Set(opts.string);
  const aliasMap = opts.alias;
  const defaults = opts.default;
  const aliasToMain = new Map<string, string>();
  const mainToAliases = new Map<string, string[]>();
  for (const [key, value] of Object.entries(aliasMap)) {
    for (const target of value as string[]) {
      aliasToMain.set(key, target);
      if (!mainToAliases.has(target)) mainToAliases.set(target, []);
      mainToAliases.get(target)!.push(key);
      aliasToMain.set(target, key);
      if (!mainToAliases.has(key)) mainToAliases.set(key, []);
      mainToAliases.get(key)!.push(target);
    }
  }
  const getType = (name: string): "boolean" | "string" => {
    if (booleans.has(name)) return "boolean";
    for (const alias of mainToAliases.get(name) || []) if (booleans.has(alias)) return "boolean";
    return "string";
  };
  const isStringType = (name: string): boolean => {
    if (strings.has(name)) return true;
    for (const alias of mainToAliases.get(name) || []) if (strings.has(alias)) return true;
    return false;
  };
  const options: Record<string, OptionConfig> = {};
  const all = new Set([
    ...booleans,
    ...strings,
    ...Object.keys(aliasMap),
    ...Object.values(aliasMap).flat(),
    ...Object.keys(defaults),
  ]);
  for (const name of all)
    if (!options[name]) options[name] = { type: getType(name), default: defaults[name] };
  for (const [alias, main] of aliasToMain.entries())
    if (alias.length === 1 && options[main] && !options[main].short) options[main].short = alias;
  const processed: string[] = [];
  const negated: Record<string, boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      processed.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--no-")) {
      negated[arg.slice(5)] = true;
      continue;
    }
    processed.push(arg);
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = utilParseArgs(processed, options);
  } catch {
    parsed = { values: {}, positionals: processed };
  }
  const out: Values = { _: parsed.positionals };
  for (const [key, value] of Object.entries(parsed.values)) {
    let coerced = value;
    if (getType(key) === "boolean" && typeof value === "string") coerced = value !== "false";
    else if (isStringType(key) && typeof value === "boolean") coerced = "";
    out[key] = coerced;
  }
  for (const name of Object.keys(negated)) {
    out[name] = false;
    const mainName = aliasToMain.get(name);
    if (mainName) out[mainName] = false;
    for (const alias of mainToAliases.get(name) ?? []) out[alias] = false;
  }
  for (const [alias, main] of aliasToMain.entries()) {
    if (out[alias] !== undefined && out[main] === undefined) out[main] = out[alias];
    if (out[main] !== undefined && out[alias] === undefined) out[alias] = out[main];
    if (out[alias] !== out[main] && defaults[main] === out[main]) out[main] = out[alias];
  }
  return out;
}

// ---- node:util's parseArgs as Bun has it (native), as citty calls it: { strict: false, allowPositionals: true } ----

interface OptionConfig {
  type: "boolean" | "string";
  short?: string;
  default?: unknown;
}

/** What parseArgs refuses (citty then takes every word as a positional). */
function checkOptions(options: Record<string, OptionConfig>): void {
  for (const [name, o] of Object.entries(options)) {
    if (o.short !== undefined && (typeof o.short !== "string" || o.short.length !== 1))
      throw new TypeError(`options.${name}.short must be a single character`);
    if (o.default !== undefined && typeof o.default !== o.type)
      throw new TypeError(`options.${name}.default must be ${o.type}`);
  }
}

function utilParseArgs(
  args: string[],
  options: Record<string, OptionConfig>,
): { values: Record<string, unknown>; positionals: string[] } {
  checkOptions(options);
  const defs = Object.entries(options);
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  /** The option a short name stands for: its `short`, else a one-letter long name; [name, type]. */
  const short = (c: string): [string, string] => {
    let long: [string, string] | undefined;
    for (const [name, o] of defs) {
      if (o.short === c) return [name, o.type];
      if (name.length === 1 && name === c) long = [name, o.type];
    }
    return long ?? [c, "boolean"];
  };
  const store = (name: string, value: string | undefined) => {
    if (name !== "__proto__") values[name] = value ?? true;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.length === 2 && arg[0] === "-") {
      // -f, or -f VALUE for a string option
      const [name, type] = short(arg[1]!);
      store(name, type === "string" && i + 1 < args.length ? args[++i] : undefined);
    } else if (arg.length > 2 && arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq >= 3)
        store(arg.slice(2, eq), arg.slice(eq + 1)); // --foo=bar
      else {
        // --foo, or --foo VALUE for a string option
        const name = arg.slice(2);
        const type = Object.hasOwn(options, name) ? options[name]!.type : "boolean";
        store(name, type === "string" && i + 1 < args.length ? args[++i] : undefined);
      }
    } else if (arg.length > 2 && arg[0] === "-") {
      if (short(arg[1]!)[1] === "string") {
        store(short(arg[1]!)[0], arg.slice(2)); // -fVALUE
        continue;
      }
      // -abc is -a -b -c; a string option takes the rest of the word, or the next word when last
      for (let k = 1; k < arg.length; k++) {
        const [name, type] = short(arg[k]!);
        if (type !== "string" || k === arg.length - 1)
          store(name, type === "string" && i + 1 < args.length ? args[++i] : undefined);
        else {
          store(name, arg.slice(k + 1));
          break;
        }
      }
    } else positionals.push(arg);
  }
  for (const [name, o] of defs)
    if (o.default !== undefined && name !== "__proto__" && !Object.hasOwn(values, name))
      values[name] = o.default;
  return { values, positionals };
}

// ---- scule's camelCase and kebabCase (citty's), kept per name: the parsed args' get calls them ----

const camelCache = new Map<string, string>();
const kebabCache = new Map<string, string>();

export function camelCase(str: string): string {
  let v = camelCache.get(str);
  if (v === undefined) {
    v = lowerFirst(words(str).map(upperFirst).join(""));
    camelCache.set(str, v);
  }
  return v;
}

export function kebabCase(str: string): string {
  let v = kebabCache.get(str);
  if (v === undefined) {
    v = str
      ? words(str)
          .map((p) => p.toLowerCase())
          .join("-")
      : "";
    kebabCache.set(str, v);
  }
  return v;
}

/**
 * splitByCase's words. An option's name is mostly lower-case letters, digits and hyphens, where
 * they are the pieces between the hyphens (no letter changes case): found without splitByCase's
 * loop and regular expression per character, which run in the interpreter at every start.
 */
function words(str: string): string[] {
  if (typeof str !== "string") return splitByCase(str);
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return splitByCase(str);
  }
  return str ? str.split("-") : [];
}

const upperFirst = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : "");
const lowerFirst = (s: string) => (s ? s[0]!.toLowerCase() + s.slice(1) : "");

function isUppercase(char: string): boolean | undefined {
  if (/\d/.test(char)) return undefined;
  return char !== char.toLowerCase();
}

function splitByCase(str: string): string[] {
  const splitters = ["-", "_", "/", "."];
  const parts: string[] = [];
  if (!str || typeof str !== "string") return parts;
  let buff = "";
  let previousUpper: boolean | undefined;
  let previousSplitter: boolean | undefined;
  for (const char of str) {
    const isSplitter = splitters.includes(char);
    if (isSplitter) {
      parts.push(buff);
      buff = "";
      previousUpper = undefined;
      continue;
    }
    const isUpper = isUppercase(char);
    if (previousSplitter === false) {
      if (previousUpper === false && isUpper === true) {
        parts.push(buff);
        buff = char;
        previousUpper = isUpper;
        continue;
      }
      if (previousUpper === true && isUpper === false && buff.length > 1) {
        const lastChar = buff.at(-1)!;
        parts.push(buff.slice(0, Math.max(0, buff.length - 1)));
        buff = lastChar + char;
        previousUpper = isUpper;
        continue;
      }
    }
    buff += char;
    previousUpper = isUpper;
    previousSplitter = isSplitter;
  }
  parts.push(buff);
  return parts;
}
