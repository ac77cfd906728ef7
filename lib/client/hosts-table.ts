// The table `salty hosts` prints by default: one line per connected agent
// with its cluster and env, OS, address, how long it has been connected, and
// its last apply with the result (LATE: an agent with --apply-every that has
// not asked for its apply in two periods). Pure: no I/O.

import type { HostEntry } from "../wire/api.ts";
import { ago } from "./adhoc-format.ts";

const HEAD = ["ID", "CLUSTER", "ENV", "OS", "IP", "CONNECTED", "LAST APPLY"];

/** The first private, non-loopback IPv4 of its facts; else the address it connected from. */
function addressOf(h: HostEntry): string {
  const ifaces =
    (
      h.facts as {
        networking?: {
          interfaces?: Array<{ ipv4?: string; is_private?: boolean; is_loopback?: boolean }>;
        };
      }
    ).networking?.interfaces ?? [];
  const pick =
    ifaces.find((i) => i.ipv4 && i.is_private && !i.is_loopback) ??
    ifaces.find((i) => i.ipv4 && !i.is_loopback);
  return pick?.ipv4 ?? h.peer.replace(/:\d+$/, "");
}

function osOf(h: HostEntry): string {
  const os = (h.facts as { os?: { name?: string; version?: string } }).os;
  return [os?.name, os?.version].filter(Boolean).join(" ") || "-";
}

function lastApplyOf(h: HostEntry, now: number): string {
  const l = h.lastApply;
  // An agent with --apply-every that has not asked for two periods.
  const late = h.scheduled?.late ? " LATE" : "";
  if (!l) return `-${late}`;
  return `${l.status} ${ago(now - Date.parse(l.at))}${l.version ? ` version=${l.version}` : ""}${late}`;
}

export function hostsTable(hosts: Record<string, HostEntry>, now: number): string[] {
  const rows = Object.entries(hosts).map(([id, h]) => [
    id,
    h.cluster ?? "(not in inventory)",
    h.env ?? "-",
    osOf(h),
    addressOf(h),
    ago(now - Date.parse(h.connected)).replace(/ ago$/, ""),
    lastApplyOf(h, now),
  ]);
  const all = [HEAD, ...rows];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}
