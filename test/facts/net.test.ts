import { expect, test } from "bun:test";
import type { Facts, Interface } from "salty";
import { classifyIpv4, ipv4Network, myIp, prefixFromNetmask } from "../../lib/facts/net.ts";

test.each([
  ["10.1.2.3", { is_private: true, is_public: false, is_loopback: false }],
  ["172.16.0.1", { is_private: true, is_public: false, is_loopback: false }],
  ["172.31.255.254", { is_private: true, is_public: false, is_loopback: false }],
  ["172.32.0.1", { is_private: false, is_public: true, is_loopback: false }],
  ["192.168.0.10", { is_private: true, is_public: false, is_loopback: false }],
  ["100.64.0.1", { is_private: true, is_public: false, is_loopback: false }],
  ["100.127.255.1", { is_private: true, is_public: false, is_loopback: false }],
  ["100.128.0.1", { is_private: false, is_public: true, is_loopback: false }],
  ["127.0.0.1", { is_private: false, is_public: false, is_loopback: true }],
  ["127.5.5.5", { is_private: false, is_public: false, is_loopback: true }],
  ["169.254.1.1", { is_private: false, is_public: false, is_loopback: false }],
  ["192.0.2.2", { is_private: false, is_public: false, is_loopback: false }],
  ["224.0.0.1", { is_private: false, is_public: false, is_loopback: false }],
  ["8.8.8.8", { is_private: false, is_public: true, is_loopback: false }],
  ["not-an-ip", { is_private: false, is_public: false, is_loopback: false }],
  ["256.1.1.1", { is_private: false, is_public: false, is_loopback: false }],
])("classifyIpv4(%s)", (ip, expected) => {
  expect(classifyIpv4(ip)).toEqual(expected);
});

test.each([
  ["255.255.255.0", 24],
  ["0xffffff00", 24],
  ["0xfffff000", 20],
  ["255.255.255.255", 32],
  ["0.0.0.0", 0],
  ["255.0.255.0", undefined],
  ["garbage", undefined],
])("prefixFromNetmask(%s) = %p", (mask, prefix) => {
  expect(prefixFromNetmask(mask)).toBe(prefix as number | undefined);
});

test.each([
  ["10.0.0.17", 24, "10.0.0.0/24"],
  ["10.20.30.40", 20, "10.20.16.0/20"],
  ["192.168.1.1", 32, "192.168.1.1/32"],
  ["203.0.113.200", 0, "0.0.0.0/0"],
  ["255.255.255.255", 1, "128.0.0.0/1"],
])("ipv4Network(%s, %d) = %s", (ip, prefix, net) => {
  expect(ipv4Network(ip, prefix)).toBe(net);
});

function iface(device: string, ipv4: string, extra: Partial<Interface> = {}): Interface {
  return {
    device,
    mac: "00:00:00:00:00:00",
    ipv4,
    ipv4_network: `${ipv4}/32`,
    is_private: false,
    is_public: false,
    is_loopback: false,
    is_bridge: false,
    ...extra,
  };
}
const facts = (...interfaces: Interface[]): Pick<Facts, "networking"> => ({
  networking: { interfaces },
});
const lo = iface("lo", "127.0.0.1", { is_loopback: true });

test.each([
  [
    "first private non-loopback",
    facts(
      lo,
      iface("eth0", "34.1.1.1", { is_public: true }),
      iface("eth1", "10.0.0.5", { is_private: true }),
      iface("eth2", "10.9.0.5", { is_private: true }),
    ),
    "10.0.0.5",
  ],
  [
    "a bridge only when nothing else is private",
    facts(
      iface("docker0", "172.17.0.1", { is_private: true, is_bridge: true }),
      iface("eth0", "10.0.0.5", { is_private: true }),
    ),
    "10.0.0.5",
  ],
  [
    "the bridge of a bridged host",
    facts(lo, iface("br0", "192.168.1.9", { is_private: true, is_bridge: true })),
    "192.168.1.9",
  ],
  ["none private", facts(lo, iface("eth0", "192.0.2.2")), undefined],
  ["no facts", undefined, undefined],
])("myIp: %s", (_name, f, ip) => {
  expect(myIp(f)).toBe(ip);
});
