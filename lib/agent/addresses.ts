// myIp() and getIps(role) for roles and templates, from the facts in the
// role's context: this host's private IPv4, and the sorted private IPv4s of
// the hosts in its cluster that have a role (itself included). Pure.

import type { HostContext, HostInfo } from "salty";
import { SaltyError } from "../errors.ts";
import { myIp as ipOf } from "../facts/net.ts";

export interface Addresses {
  myIp(): string | undefined;
  getIps(role: string): string[];
}

function ipNumber(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

export function clusterIps(context: HostContext, role: string): string[] {
  const hosts: Record<string, HostInfo> = { ...context.hosts, [context.id]: context.me };
  const ips: string[] = [];
  for (const h of Object.values(hosts)) {
    if (h.cluster !== context.me.cluster || !h.roles.includes(role)) continue;
    const ip = ipOf(h.facts);
    if (ip) ips.push(ip);
  }
  return ips.sort((a, b) => ipNumber(a) - ipNumber(b));
}

export function addresses(context: HostContext): Addresses {
  return { myIp: () => ipOf(context.me.facts), getIps: (role) => clusterIps(context, role) };
}

/** For the templates of a role sent without the hosts: getIps from those they loaded (agent/shared-hosts.ts). */
export function onDemandAddresses(
  context: HostContext,
  hosts: { loaded(): Record<string, HostInfo> | undefined },
  filename: string,
): Addresses {
  return {
    ...addresses(context),
    getIps: (role) => {
      const loaded = hosts.loaded();
      if (!loaded)
        throw new SaltyError(
          `getIps: the other hosts were not sent to ${filename} and no template of it named them`,
          "E_HOSTS",
        );
      return clusterIps({ ...context, hosts: loaded }, role);
    },
  };
}
