// Parsers of what the system says about itself: /etc/os-release (name and
// the identity the package and service backends need), container and VM
// markers, /proc/meminfo, `sw_vers`, `ifconfig` (macOS) and os.networkInterfaces().
// Pure: text or plain data in, values out; no I/O. Tested on captured output
// in test/facts/<parser>/<case>.json.

import type { Interface } from "salty";
import { buildInterfaces, prefixFromNetmask, type AddrEntry } from "./net.ts";

/** KEY=value lines of /etc/os-release -> { name: NAME, version: VERSION_ID }. */
export function parseOsRelease(text: string): { name: string; version: string } {
  const kv = osReleaseFields(text);
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
export function fromNodeInterfaces(
  nets: Record<string, readonly NodeNetEntry[] | undefined>,
): AddrEntry[] {
  const entries: AddrEntry[] = [];
  for (const [device, list] of Object.entries(nets)) {
    for (const n of list ?? []) {
      const family =
        n.family === "IPv4" || n.family === 4
          ? 4
          : n.family === "IPv6" || n.family === 6
            ? 6
            : undefined;
      if (!family) continue;
      const prefix = prefixOf(n, family);
      if (prefix === undefined) continue;
      entries.push({
        device,
        family,
        address: n.address,
        prefix,
        ...(n.mac ? { mac: normalizeMac(n.mac) } : {}),
      });
    }
  }
  return entries;
}

function prefixOf(n: NodeNetEntry, family: 4 | 6): number | undefined {
  const fromCidr = n.cidr ? Number(n.cidr.split("/")[1]) : NaN;
  if (Number.isInteger(fromCidr)) return fromCidr;
  if (family === 4) return prefixFromNetmask(n.netmask);
  return n.netmask
    .split(":")
    .reduce(
      (acc, part) => acc + (part ? parseInt(part, 16).toString(2).replace(/0/g, "").length : 0),
      0,
    );
}

/** os.networkInterfaces() plus the names of the bridges (Linux: from /sys/class/net). */
export function nodeInterfaces(
  nets: Record<string, readonly NodeNetEntry[] | undefined>,
  bridges: readonly string[],
): Interface[] {
  return buildInterfaces(fromNodeInterfaces(nets), new Set(bridges));
}

/** macOS: `ifconfig -a` output. */
export function darwinInterfaces(ifconfig: string): Interface[] {
  const { entries, bridges } = parseIfconfig(ifconfig);
  return buildInterfaces(entries, bridges);
}

/** What /etc/os-release says about the distribution, for the package and service backends. */
export interface OsIdentity {
  /** debian, redhat, alpine, arch, suse, darwin; else the ID itself. */
  family: string;
  id: string;
  version_id: string;
  codename: string;
}

/** The families the backends know, by an ID or an ID_LIKE word. */
const FAMILIES: Record<string, string> = {
  debian: "debian",
  ubuntu: "debian",
  raspbian: "debian",
  linuxmint: "debian",
  pop: "debian",
  kali: "debian",
  devuan: "debian",
  rhel: "redhat",
  fedora: "redhat",
  centos: "redhat",
  rocky: "redhat",
  almalinux: "redhat",
  ol: "redhat",
  amzn: "redhat",
  alpine: "alpine",
  arch: "arch",
  manjaro: "arch",
  endeavouros: "arch",
  suse: "suse",
  opensuse: "suse",
  "opensuse-leap": "suse",
  "opensuse-tumbleweed": "suse",
  sles: "suse",
};

function osReleaseFields(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, "$1");
    kv.set(m[1]!, v);
  }
  return kv;
}

/** /etc/os-release -> family, id, version_id, codename ("" when not said). */
export function parseOsIdentity(text: string): OsIdentity {
  const kv = osReleaseFields(text);
  const id = (kv.get("ID") ?? "").toLowerCase();
  const like = (kv.get("ID_LIKE") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  const family =
    [id, ...like].map((w) => FAMILIES[w]).find((f) => f !== undefined) ?? (id || "linux");
  // Ubuntu says UBUNTU_CODENAME too; Debian sid has only VERSION_CODENAME, or a "(trixie)" in VERSION.
  const codename =
    kv.get("VERSION_CODENAME") ||
    kv.get("UBUNTU_CODENAME") ||
    /\(([a-z]+)\)/.exec(kv.get("VERSION") ?? "")?.[1] ||
    "";
  return { family, id, version_id: kv.get("VERSION_ID") ?? "", codename };
}

/** The package manager of a family (RHEL and CentOS before 8 have yum); "none" when salty knows none. */
export function pkgManagerFor(family: string, id: string, versionId: string): string {
  if (family === "redhat")
    return (id === "rhel" || id === "centos" || id === "ol") && Number.parseInt(versionId, 10) < 8
      ? "yum"
      : "dnf";
  return (
    (
      { debian: "apt", alpine: "apk", arch: "pacman", suse: "zypper", darwin: "brew" } as Record<
        string,
        string
      >
    )[family] ?? "none"
  );
}

/** What the facts gatherer reads to tell containers and VMs apart; null for a file that is not there. */
export interface VirtualProbe {
  /** /proc/1/cgroup */
  cgroup: string | null;
  /** /run/systemd/container (systemd writes the container manager's name) */
  systemdContainer: string | null;
  /** /.dockerenv or /run/.containerenv exists */
  containerEnv: boolean;
  /** /proc/cpuinfo */
  cpuinfo: string | null;
  /** /sys/class/dmi/id/sys_vendor */
  dmiVendor: string | null;
}

const VM_VENDORS =
  /qemu|kvm|vmware|virtualbox|innotek|xen|microsoft corporation|bochs|parallels|amazon ec2|google|openstack|bhyve/i;

/** container, vm or none: a container first (it may run in a VM), then a hypervisor. */
export function detectVirtual(p: VirtualProbe): "container" | "vm" | "none" {
  if (p.containerEnv || (p.systemdContainer ?? "").trim()) return "container";
  if (
    p.cgroup &&
    /\/(docker|lxc|kubepods|libpod|containerd)[/-]|\.scope.*(docker|podman)/.test(p.cgroup)
  )
    return "container";
  if (p.cpuinfo && /^flags\s*:.*\bhypervisor\b/m.test(p.cpuinfo)) return "vm";
  if (p.dmiVendor && VM_VENDORS.test(p.dmiVendor)) return "vm";
  return "none";
}

/** The init system from what is there: systemd's runtime directory, or PID 1's name. */
export function detectInit(
  kernel: string,
  runSystemd: boolean,
  pid1: string | null,
): "systemd" | "launchd" | "none" {
  if (kernel === "Darwin") return "launchd";
  if (runSystemd || (pid1 ?? "").trim() === "systemd") return "systemd";
  return "none";
}
