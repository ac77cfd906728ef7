// Shared pieces of the commands: common arguments, the one place that turns
// errors into an exit status, and strict checking of the words a command would
// otherwise drop (unknown options, extra arguments, a value option without value).

import type { ArgsDef, CommandDef } from "citty";
import { SaltyError, UsageError, errorMessage } from "../lib/errors.ts";
import { findKeyroot, type KeyrootChoice } from "../lib/client/keyroot.ts";
import { io } from "./_io.ts";

export const keyrootArg = {
  keyroot: {
    type: "string",
    description: "Directory of keys and crypto.pass",
    default: "./keys",
    valueHint: "DIR",
  },
} as const satisfies ArgsDef;

/** Client commands find the keyroot themselves (clientKeyroot) unless given. */
export const clientKeyrootArg = {
  keyroot: {
    type: "string",
    description:
      "Directory of keys and crypto.pass (default: $SALTY_KEYROOT, ./keys, the keys/ of the fileroot above, /etc/salty)",
    valueHint: "DIR",
  },
} as const satisfies ArgsDef;

/** The keyroot of a client command: --keyroot, else found (lib/client/keyroot.ts). */
export function clientKeyroot(given: string | undefined): KeyrootChoice {
  return findKeyroot(given, io().env, process.cwd());
}

export const filerootArg = {
  fileroot: {
    type: "string",
    description: "Directory holding hosts/, roles/ and files/",
    default: ".",
    valueHint: "DIR",
  },
} as const satisfies ArgsDef;

/** For commands a later release implements: say so plainly, exit 2. */
export function notYet(name: string): never {
  throw new UsageError(`salty ${name} is not available yet in this build`);
}

/** The exit status for an error, and the one line printed for it. */
export function describeError(err: unknown): { status: number; line: string } {
  const name = (err as { name?: string })?.name;
  // A usage error found by the master (e.g. a bad apply argument) arrives as an RpcError with E_USAGE.
  if (
    err instanceof UsageError ||
    name === "CLIError" ||
    (err instanceof SaltyError && err.code === "E_USAGE")
  ) {
    return { status: 2, line: stripAnsi(errorMessage(err)) };
  }
  if (err instanceof SaltyError) return { status: 1, line: err.message };
  return { status: 1, line: errorMessage(err) };
}

export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

type AnyCommand = CommandDef<ArgsDef>;

async function resolve<T>(
  v: T | Promise<T> | (() => T | Promise<T>) | undefined,
): Promise<T | undefined> {
  return typeof v === "function" ? await (v as () => T | Promise<T>)() : await v;
}

/**
 * Walk the positional words down the sub-command tree: the command they name,
 * its path of names, its own arguments, and the options given before its name
 * (`salty --dry-run apply`), which it would never see.
 */
export async function findCommand(
  root: AnyCommand,
  rawArgs: string[],
): Promise<{ cmd: AnyCommand; args: string[]; path: string; misplaced: string[] }> {
  let cmd = root;
  let start = 0;
  const names: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") break; // what follows is a command's own words (salty run web1 -- ls)
    if (word.startsWith("-")) continue;
    const subs = await resolve(cmd.subCommands);
    const next = subs ? await resolve(subs[word]) : undefined;
    if (!next) break;
    cmd = next as AnyCommand;
    start = i + 1;
    names.push(word);
  }
  return {
    cmd,
    args: rawArgs.slice(start),
    path: names.join(" "),
    misplaced: rawArgs.slice(0, start).filter((w) => w.startsWith("-")),
  };
}

/** Options citty would silently ignore are usage errors here. */
export async function checkOptions(
  cmd: AnyCommand,
  rawArgs: string[],
  path: string,
): Promise<void> {
  const args = (await resolve(cmd.args)) ?? {};
  const known = new Set<string>(["help", "h"]);
  for (const [name, def] of Object.entries(args)) {
    known.add(name);
    known.add(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
    if (def.type === "boolean") known.add(`no-${name}`);
    for (const a of ["alias" in def ? (def.alias ?? []) : []].flat()) known.add(a);
  }
  for (const word of rawArgs) {
    if (word === "--") break;
    const m = /^--?([^=]+)/.exec(word);
    if (!m || /^-\d/.test(word)) continue;
    // Short flags may be bundled (-vv): each letter must be known.
    const names = word.startsWith("--") ? [m[1]!] : [...m[1]!];
    for (const n of names)
      if (!known.has(n)) throw new UsageError(`unknown option ${word} (see salty ${path} --help)`);
  }
  checkWords(args, rawArgs, path);
}

/**
 * Words citty would silently drop are usage errors too: a value option with
 * no value at the end (`--keyroot`), and more positional words than the
 * command takes (`salty keys accept web1 web2` accepted web1 alone). A
 * positional whose valueHint ends in "..." takes any number.
 */
function checkWords(args: ArgsDef, rawArgs: string[], path: string): void {
  const valued = new Set<string>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type !== "string" && def.type !== "enum") continue;
    valued.add(name).add(name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
    for (const a of ["alias" in def ? (def.alias ?? []) : []].flat()) valued.add(a);
  }
  const positionals = Object.values(args).filter((d) => d.type === "positional");
  const variadic = positionals.some((d) => d.valueHint?.endsWith("..."));
  let count = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") break;
    if (word.startsWith("-") && !/^-\d/.test(word)) {
      const m = /^--?([^=]+)(=?)/.exec(word);
      if (!m || m[2] || !valued.has(m[1]!)) continue;
      if (i + 1 >= rawArgs.length || rawArgs[i + 1] === "--")
        throw new UsageError(`${word} needs a value (see salty ${path} --help)`);
      i++; // its value
      continue;
    }
    if (!variadic && ++count > positionals.length)
      throw new UsageError(`unexpected argument ${word} (see salty ${path} --help)`);
  }
}
