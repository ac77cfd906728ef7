// The command line a service runs: this salty itself, the role, and the options
// given to `salty service install` passed through as they would be typed.
// Pure: paths are made absolute against the cwd the caller passes in.

import { resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** The part of a command's argument definitions this module reads (citty's shape). */
export type ArgDefs = Record<string, { type?: string; default?: unknown }>;

/**
 * The command line that runs this very salty: the executable itself when
 * compiled (its bundled entry lives under /$bunfs/), else Bun and the entry file
 * of this checkout, which a real host should not rely on.
 */
export function selfArgv(execPath: string, main: string): { argv: string[]; fromSource: boolean } {
  const compiled = main.startsWith("/$bunfs/") || main.startsWith("B:/~BUN/");
  return compiled
    ? { argv: [execPath], fromSource: false }
    : { argv: [execPath, main], fromSource: true };
}

/** MASTER[:PORT] as the agent takes it: a host name, IPv4 or [IPv6], and a port 1-65535; several masters: a comma-separated list of them. */
export function checkMasterAddress(addr: string | undefined): string {
  for (const one of (addr ?? "").split(",")) {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(one);
    const port = m?.[2] === undefined ? 11111 : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      throw new UsageError(
        `the agent needs its master as MASTER[:PORT] (e.g. salt.example.com:11111), or several as M1[:PORT],M2[:PORT], not ${JSON.stringify(addr ?? "")}`,
      );
    }
  }
  return addr!;
}

/**
 * `--name value` for every option of the role's command that was given (or that
 * names a directory, always written out, absolute); positionals first, in order.
 * Options of `service install` itself (`--print`, `--root`) are left out.
 */
export function passThrough(o: {
  defs: ArgDefs;
  parsed: Record<string, unknown>;
  dirs: string[];
  skip: string[];
  cwd: string;
}): string[] {
  const positional: string[] = [];
  const options: string[] = [];
  for (const [name, def] of Object.entries(o.defs)) {
    const value = o.parsed[name];
    if (o.skip.includes(name) || value === undefined) continue;
    // A flag at its default says nothing; one on by default and turned off is --no-NAME (citty's negation).
    if (def.type === "boolean") {
      if (value === (def.default ?? false)) continue;
      options.push(value === false ? `--no-${name}` : `--${name}`);
      continue;
    }
    if (value === false) continue;
    if (def.type === "positional") positional.push(String(value));
    else if (o.dirs.includes(name)) options.push(`--${name}`, resolve(o.cwd, String(value)));
    else if (value !== def.default) options.push(`--${name}`, String(value));
  }
  return [...positional, ...options];
}
