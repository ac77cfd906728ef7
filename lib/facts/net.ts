// Addresses to Facts interfaces: IPv4 arithmetic and classification, and the
// one function that turns per-platform address lists into `Interface` records.
// Pure: no I/O, no `node:os`.
//
// Classification (IPv4 only):
// - is_loopback: 127.0.0.0/8.
// - is_private: RFC 1918 (10/8, 172.16/12, 192.168/16) and RFC 6598 shared
//   space 100.64/10 (carrier-grade NAT, also Tailscale and some cloud VPCs):
//   addresses hosts use to reach each other that the internet does not route.
// - is_public: globally routable unicast, i.e. none of the special-purpose
//   blocks below (loopback, private, link-local, documentation, benchmark,
//   multicast, reserved). Documentation nets (192.0.2/24…) are neither.

import type { Facts, Interface } from "salty";

/** One address of one device, as a platform reports it. */
export interface AddrEntry {
  device: string;
  mac?: string;
  family: 4 | 6;
  address: string;
  prefix: number;
}

const NO_MAC = "00:00:00:00:00:00";

/** The address as an unsigned 32-bit number, or undefined when it is not dotted-quad IPv4. */
export function ipv4ToInt(address: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Prefix length of a netmask written dotted ("255.255.255.0") or in hex ("0xffffff00"). */
export function prefixFromNetmask(mask: string): number | undefined {
  const n = /^0x[0-9a-f]{1,8}$/i.test(mask) ? parseInt(mask, 16) : ipv4ToInt(mask);
  if (n === undefined) return undefined;
  const bits = n.toString(2).padStart(32, "0");
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.replace(/0/g, "").length;
}

/** "10.0.0.17", 24 -> "10.0.0.0/24". */
export function ipv4Network(address: string, prefix: number): string {
  const n = ipv4ToInt(address) ?? 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${intToIpv4((n & mask) >>> 0)}/${prefix}`;
}

type Block = readonly [base: string, prefix: number];

const LOOPBACK: Block[] = [["127.0.0.0", 8]];
const PRIVATE: Block[] = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10],
];
const NOT_GLOBAL: Block[] = [
  ["0.0.0.0", 8],
  ["169.254.0.0", 16],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

/** A block as its base and mask in numbers, made once: parsing the bases at every call made the master's
 * check of one agent's facts cost ~0.1 ms an interface, paid again by every agent at every reconnect. */
type NumericBlock = readonly [base: number, mask: number];
const numeric = (blocks: Block[]): NumericBlock[] =>
  blocks.map(([base, prefix]) => [ipv4ToInt(base)!, (0xffffffff << (32 - prefix)) >>> 0]);
const LOOPBACK_N = numeric(LOOPBACK);
const PRIVATE_N = numeric(PRIVATE);
const NOT_GLOBAL_N = numeric(NOT_GLOBAL);

function inBlocks(n: number, blocks: NumericBlock[]): boolean {
  return blocks.some(([base, mask]) => (n & mask) >>> 0 === base);
}

export function classifyIpv4(address: string): {
  is_private: boolean;
  is_public: boolean;
  is_loopback: boolean;
} {
  const n = ipv4ToInt(address);
  if (n === undefined) return { is_private: false, is_public: false, is_loopback: false };
  const is_loopback = inBlocks(n, LOOPBACK_N);
  const is_private = inBlocks(n, PRIVATE_N);
  return {
    is_private,
    is_loopback,
    is_public: !is_loopback && !is_private && !inBlocks(n, NOT_GLOBAL_N),
  };
}

function isLinkLocalV6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * One Interface per device that has an IPv4 address, in the order devices
 * first appear. A device's first IPv4 wins; `ipv6` is its first address that
 * is not link-local (omitted when there is none).
 */
export function buildInterfaces(
  entries: readonly AddrEntry[],
  bridges: ReadonlySet<string>,
): Interface[] {
  const order: string[] = [];
  const byDevice = new Map<string, AddrEntry[]>();
  for (const e of entries) {
    if (!byDevice.has(e.device)) order.push(e.device);
    byDevice.set(e.device, [...(byDevice.get(e.device) ?? []), e]);
  }
  const out: Interface[] = [];
  for (const device of order) {
    const list = byDevice.get(device) ?? [];
    const v4 = list.find((e) => e.family === 4 && ipv4ToInt(e.address) !== undefined);
    if (!v4) continue;
    const v6 = list.find((e) => e.family === 6 && !isLinkLocalV6(e.address));
    const mac = list.find((e) => e.mac)?.mac ?? NO_MAC;
    out.push({
      device,
      mac,
      ipv4: v4.address,
      ipv4_network: ipv4Network(v4.address, v4.prefix),
      ...(v6 ? { ipv6: v6.address } : {}),
      ...classifyIpv4(v4.address),
      is_bridge: bridges.has(device),
    });
  }
  return out;
}

/**
 * This host's private IPv4: the first private, non-loopback interface that is
 * not a bridge, else the first private bridge (a host whose main interface is
 * a bridge, e.g. br0/vmbr0); undefined when there is none.
 */
export function myIp(facts: Pick<Facts, "networking"> | undefined): string | undefined {
  // The master checked the facts (facts/validate.ts); this checks again what it hands to roles, whatever its input.
  const interfaces = Array.isArray(facts?.networking?.interfaces)
    ? facts.networking.interfaces
    : [];
  const candidates = interfaces.filter(
    (i) =>
      typeof i?.ipv4 === "string" &&
      classifyIpv4(i.ipv4).is_private &&
      !classifyIpv4(i.ipv4).is_loopback,
  );
  return (candidates.find((i) => !i.is_bridge) ?? candidates[0])?.ipv4;
}
