// The help text of a command, `salty --help` and `salty keys accept --help`
// alike: the whole command path in the usage line (citty names only the last
// two words), columns aligned on the left, no trailing blanks, no colour
// codes (help is read in terminals, pagers and files the same).

import type { ArgDef, ArgsDef, CommandDef } from "citty";

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(
  v: T | Promise<T> | (() => T | Promise<T>) | undefined,
): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

/** Two columns: the left padded to the widest entry. */
function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

function describe(def: ArgDef): string {
  const dflt =
    "default" in def && def.default !== undefined && def.type !== "boolean"
      ? ` (default: ${String(def.default)})`
      : "";
  return (def.description ?? "") + dflt;
}

function optionLabel(name: string, def: ArgDef): string {
  const aliases = ("alias" in def ? [def.alias ?? []].flat() : []).map((a) => `-${a}, `).join("");
  const value =
    def.type === "string" || def.type === "enum" ? ` ${def.valueHint ?? name.toUpperCase()}` : "";
  return `${aliases}--${name}${value}`;
}

/** `path` is the command's words after "salty" ("" for salty itself). */
export async function renderHelp(cmd: AnyCommand, path: string, version: string): Promise<string> {
  const meta = (await resolve(cmd.meta)) ?? {};
  const args = (await resolve(cmd.args)) ?? {};
  const subs = (await resolve(cmd.subCommands)) ?? {};
  const name = path ? `salty ${path}` : "salty";
  const positionals: [string, string][] = [];
  const options: [string, string][] = [];
  const usage: string[] = [name];
  for (const [argName, def] of Object.entries(args) as [string, ArgDef][]) {
    if (def.type === "positional") {
      const label = def.valueHint ?? argName.toUpperCase();
      usage.push(def.required === false || def.default !== undefined ? `[${label}]` : label);
      positionals.push([label, describe(def)]);
    } else options.push([optionLabel(argName, def), describe(def)]);
  }
  if (options.length) usage.splice(1, 0, "[OPTIONS]");
  const commands: [string, string][] = [];
  for (const [subName, sub] of Object.entries(subs)) {
    const subMeta = await resolve((await resolve(sub as AnyCommand))?.meta);
    if (!subMeta?.hidden) commands.push([subName, subMeta?.description ?? ""]);
  }
  const sub = commands.length > 1 ? "COMMAND" : commands[0]?.[0];
  if (sub) usage.push(cmd.run ? `[${sub}]` : sub); // a command that runs by itself takes its sub-commands optionally
  options.push(["-h, --help", "Show this help"]);
  if (!path) options.push(["-V, --version", "Print the version (as salty version)"]);
  const out = [
    `${name}: ${meta.description ?? ""} (salty ${version})`,
    "",
    `Usage: ${usage.join(" ")}`,
  ];
  if (positionals.length) out.push("", "Arguments:", ...columns(positionals));
  if (commands.length) out.push("", "Commands:", ...columns(commands));
  out.push("", "Options:", ...columns(options));
  if (commands.length) out.push("", `Run \`${name} COMMAND --help\` for the options of a command.`);
  return out.join("\n");
}
