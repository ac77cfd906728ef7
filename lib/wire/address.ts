// MASTER[:PORT] parsing, for the agent, the master's --bind and remote clients. Pure.

import { UsageError } from "../errors.ts";

export const DEFAULT_PORT = 11111;

/** "host:port", "host" (default port), "[::1]:port". */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${what}: expected HOST[:PORT], got ${JSON.stringify(value)}`);
  return { host: m[1], port };
}
