// Facts as the master keeps them: an agent's facts are claims of that host and
// travel into every other host's role context (getIps() into their shell
// commands), so the master checks them against their schema (SPEC section 4)
// before anything else sees them. A field that does not fit is dropped and
// replaced by an empty value of its type, so that every host's facts keep the
// same shape; an interface whose address is not an address is dropped whole;
// is_private, is_public and is_loopback are derived here from the address,
// never taken from the agent. Unknown keys are dropped. Pure: no I/O.

import { isIPv4, isIPv6 } from "node:net";
import type { Facts, Interface } from "salty";
import { SaltyError } from "../errors.ts";
import { classifyIpv4, ipv4Network } from "./net.ts";

export interface CheckedFacts {
  facts: Facts;
  /** What was dropped and why, one entry per field or interface ("networking.interfaces[0]: ipv4 is not an IPv4 address"). */
  dropped: string[];
}

/** Longest string kept in a fact (a hostname is at most 253 characters, os-release values are short). */
const MAX_TEXT = 255;
/** More interfaces than any real host has; a claim of more is cut. */
const MAX_INTERFACES = 512;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Printable text of bounded length: no control characters (they would forge log lines and break templates). */
function isText(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_TEXT && !/[\u0000-\u001f\u007f]/.test(v);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5,19}$/i;
/** Addresses only: no zone index ("fe80::1%eth0"), whose text is free-form. */
const IPV6_CHARS = /^[0-9a-f:.]+$/i;

/** One interface as the master will serve it, or why it is dropped. */
function checkInterface(v: unknown): Interface | string {
  if (!isObject(v)) return "not an object";
  const { device, mac, ipv4, ipv4_network, ipv6, is_bridge } = v;
  if (!isText(device) || device === "") return "device is not a name";
  if (typeof ipv4 !== "string" || !isIPv4(ipv4)) return "ipv4 is not an IPv4 address";
  const net = typeof ipv4_network === "string" ? /^([0-9.]+)\/(\d{1,2})$/.exec(ipv4_network) : null;
  if (!net || !isIPv4(net[1]!) || Number(net[2]) > 32) return "ipv4_network is not a network";
  const out: Interface = {
    device,
    mac: typeof mac === "string" && MAC.test(mac) ? mac : "00:00:00:00:00:00",
    ipv4,
    // Derived from the address and the prefix: never the agent's text.
    ipv4_network: ipv4Network(ipv4, Number(net[2])),
    ...classifyIpv4(ipv4),
    is_bridge: is_bridge === true,
  };
  if (typeof ipv6 === "string" && IPV6_CHARS.test(ipv6) && isIPv6(ipv6)) out.ipv6 = ipv6;
  return out;
}

function checkInterfaces(v: unknown, dropped: string[]): Interface[] {
  const list = isObject(v) ? v.interfaces : undefined;
  if (!Array.isArray(list)) {
    dropped.push("networking: no list of interfaces");
    return [];
  }
  if (list.length > MAX_INTERFACES)
    dropped.push(
      `networking.interfaces: ${list.length - MAX_INTERFACES} past the first ${MAX_INTERFACES}`,
    );
  const out: Interface[] = [];
  list.slice(0, MAX_INTERFACES).forEach((raw, i) => {
    const got = checkInterface(raw);
    if (typeof got === "string") dropped.push(`networking.interfaces[${i}]: ${got}`);
    else out.push(got);
  });
  return out;
}

/**
 * The facts an agent claimed, checked. Throws (E_PARAMS) only when they are
 * not an object or name no kernel salty knows; anything else that does not
 * fit is dropped and listed.
 */
export function validateFacts(raw: unknown): CheckedFacts {
  if (!isObject(raw))
    throw new SaltyError(
      `facts must be an object, got ${Array.isArray(raw) ? "array" : raw === null ? "null" : typeof raw}`,
      "E_PARAMS",
    );
  const {
    kernel,
    machine,
    os,
    cpu_count,
    mem_gb,
    hostname,
    networking,
    pkg_manager,
    init,
    virtual,
    ...rest
  } = raw;
  if (kernel !== "Linux" && kernel !== "Darwin")
    throw new SaltyError(
      `facts.kernel must be "Linux" or "Darwin", got ${JSON.stringify(kernel)?.slice(0, 40)}`,
      "E_PARAMS",
    );
  const dropped: string[] = Object.keys(rest)
    .slice(0, 10)
    .map((k) => `${JSON.stringify(k).slice(0, 40)}: not a fact`);
  const text = (v: unknown, name: string): string => {
    if (isText(v)) return v;
    dropped.push(`${name}: not a short printable string`);
    return "";
  };
  const num = (v: unknown, name: string, ok: (n: number) => boolean): number => {
    if (typeof v === "number" && Number.isFinite(v) && ok(v)) return v;
    dropped.push(`${name}: out of range or not a number`);
    return 0;
  };
  const osObj = isObject(os) ? os : {};
  // Chosen words only: backends pick commands by them. Absent (an older agent) is the empty value, not a drop.
  const word = <T extends string>(
    v: unknown,
    name: string,
    ok: (s: string) => boolean,
    empty: T,
  ): T | string => {
    if (v === undefined) return empty;
    if (typeof v === "string" && ok(v)) return v;
    dropped.push(`${name}: not one of the known values`);
    return empty;
  };
  const token = (s: string) => /^[a-z0-9._~+-]{0,64}$/i.test(s);
  const oneOf =
    (...values: string[]) =>
    (s: string) =>
      values.includes(s);
  const facts: Facts = {
    kernel,
    machine: text(machine, "machine"),
    os: {
      name: text(osObj.name, "os.name"),
      version: text(osObj.version, "os.version"),
      family: word(osObj.family, "os.family", token, ""),
      id: word(osObj.id, "os.id", token, ""),
      version_id: word(osObj.version_id, "os.version_id", token, ""),
      codename: word(osObj.codename, "os.codename", token, ""),
    },
    cpu_count: num(cpu_count, "cpu_count", (n) => Number.isInteger(n) && n >= 1 && n <= 1 << 20),
    mem_gb: num(mem_gb, "mem_gb", (n) => n >= 0 && n <= 1 << 30),
    hostname: text(hostname, "hostname"),
    networking: { interfaces: checkInterfaces(networking, dropped) },
    pkg_manager: word(
      pkg_manager,
      "pkg_manager",
      oneOf("apt", "dnf", "yum", "apk", "brew", "pacman", "zypper", "none"),
      "none",
    ),
    init: word(init, "init", oneOf("systemd", "launchd", "none"), "none") as NonNullable<
      Facts["init"]
    >,
    virtual: word(virtual, "virtual", oneOf("container", "vm", "none"), "none") as NonNullable<
      Facts["virtual"]
    >,
  };
  return { facts, dropped };
}
