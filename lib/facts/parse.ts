// Parsers of what the system says about itself: /etc/os-release,
// /proc/meminfo, `sw_vers`, `ifconfig` (macOS) and os.networkInterfaces().
// Pure: text or plain data in, values out; no I/O. Tested on captured output
// in test/facts/<parser>/<case>.json.

import type { Interface } from "salty";
import { buildInterfaces, prefixFromNetmask, type AddrEntry } from "./net.ts";

/** KEY=value lines of /etc/os-release -> { name: NAME, version: VERSION_ID }. */
export function parseOsRelease(text: string): { name: string; version: string } {
  const kv = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, "$1");
    kv.set(m[1]!, v);
  }
  return {
    name: kv.get("NAME") ?? kv.get("ID") ?? "Linux",
    version: kv.get("VERSION_ID") ?? kv.get("VERSION_CODENAME") ?? kv.get("BUILD_ID") ?? "",
  };
}

/** Gibibytes rounded to one decimal, like the original salty. */
export function toGb(bytes: number): number {
  return Math.round((bytes / 2 ** 30) * 10) / 10;
}

/** /proc/meminfo -> total memory in GB (MemTotal). */
export function parseMeminfo(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  if (!m) throw new Error("no MemTotal line in /proc/meminfo");
  return toGb(Number(m[1]) * 1024);
}

/** `sw_vers` -> { name: ProductName, version: ProductVersion }. */
export function parseSwVers(text: string): { name: string; version: string } {
  const get = (key: string) => new RegExp(`^${key}:\\s*(.*?)\\s*$`, "m").exec(text)?.[1];
  return { name: get("ProductName") ?? "macOS", version: get("ProductVersion") ?? "" };
}

/** The address entries of `ifconfig -a` (macOS/BSD) and the devices that are bridges. */
export function parseIfconfig(text: string): { entries: AddrEntry[]; bridges: Set<string> } {
  const entries: AddrEntry[] = [];
  const macs = new Map<string, string>();
  const bridges = new Set<string>();
  let device: string | undefined;
  for (const line of text.split("\n")) {
    const head = /^([A-Za-z0-9_.-]+): flags=/.exec(line);
    if (head) {
      device = head[1]!;
      if (/^bridge\d+$/.test(device)) bridges.add(device);
      continue;
    }
    if (!device) continue;
    const entry = parseIfconfigLine(device, line);
    if (entry) entries.push(entry);
    const ether = /^\s+ether ([0-9a-f]{1,2}(?::[0-9a-f]{1,2}){5})\b/i.exec(line);
    if (ether) macs.set(device, normalizeMac(ether[1]!));
    if (/^\s+member: /.test(line)) bridges.add(device);
  }
  for (const e of entries) {
    const mac = macs.get(e.device);
    if (mac) e.mac = mac;
  }
  return { entries, bridges };
}

function parseIfconfigLine(device: string, line: string): AddrEntry | undefined {
  const v4 = /^\s+inet (\d+\.\d+\.\d+\.\d+)(?: --> \S+)? netmask (\S+)/.exec(line);
  if (v4) {
    const prefix = prefixFromNetmask(v4[2]!);
    return prefix === undefined ? undefined : { device, family: 4, address: v4[1]!, prefix };
  }
  const v6 = /^\s+inet6 ([0-9a-f:.]+)(?:%\S+)? prefixlen (\d+)/i.exec(line);
  if (v6) return { device, family: 6, address: v6[1]!, prefix: Number(v6[2]) };
  return undefined;
}

/** macOS prints "0:1c:42:a:b:c": pad every octet to two digits. */
function normalizeMac(mac: string): string {
  return mac
    .toLowerCase()
    .split(":")
    .map((o) => o.padStart(2, "0"))
    .join(":");
}

/** The shape of one entry of os.networkInterfaces(). */
export interface NodeNetEntry {
  address: string;
  netmask: string;
  family: string | number;
  mac: string;
  cidr?: string | null;
}

/** os.networkInterfaces() -> address entries (in the order devices appear). */
export function fromNodeInterfaces(nets: Record<string, readonly NodeNetEntry[] | undefined>): AddrEntry[] {
  const entries: AddrEntry[] = [];
  for (const [device, list] of Object.entries(nets)) {
    for (const n of list ?? []) {
      const family = n.family === "IPv4" || n.family === 4 ? 4 : n.family === "IPv6" || n.family === 6 ? 6 : undefined;
      if (!family) continue;
      const prefix = prefixOf(n, family);
      if (prefix === undefined) continue;
      entries.push({ device, family, address: n.address, prefix, ...(n.mac ? { mac: normalizeMac(n.mac) } : {}) });
    }
  }
  return entries;
}

function prefixOf(n: NodeNetEntry, family: 4 | 6): number | undefined {
  const fromCidr = n.cidr ? Number(n.cidr.split("/")[1]) : NaN;
  if (Number.isInteger(fromCidr)) return fromCidr;
  if (family === 4) return prefixFromNetmask(n.netmask);
  return n.netmask.split(":").reduce((acc, part) => acc + (part ? parseInt(part, 16).toString(2).replace(/0/g, "").length : 0), 0);
}

/** os.networkInterfaces() plus the names of the bridges (Linux: from /sys/class/net). */
export function nodeInterfaces(nets: Record<string, readonly NodeNetEntry[] | undefined>, bridges: readonly string[]): Interface[] {
  return buildInterfaces(fromNodeInterfaces(nets), new Set(bridges));
}

/** macOS: `ifconfig -a` output. */
export function darwinInterfaces(ifconfig: string): Interface[] {
  const { entries, bridges } = parseIfconfig(ifconfig);
  return buildInterfaces(entries, bridges);
}
