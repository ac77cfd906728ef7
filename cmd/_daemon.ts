// What the long-running commands share: address parsing and waiting for a stop signal.

import { UsageError } from "../lib/errors.ts";

export const DEFAULT_PORT = 11111;

/** "host:port", "host" (default port), "[::1]:port". */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!m || !m[1] || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`${what}: expected HOST[:PORT], got ${JSON.stringify(value)}`);
  return { host: m[1], port };
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => resolve(sig);
    process.once("SIGINT", () => done("SIGINT"));
    process.once("SIGTERM", () => done("SIGTERM"));
  });
}
