// The master's check of an agent's facts (lib/facts/validate.ts): what fits is
// kept, addresses are addresses, the flags come from the address, anything
// else is dropped and listed.
import { describe, expect, test } from "bun:test";
import { validateFacts } from "../../lib/facts/validate.ts";

const iface = (over: Record<string, unknown> = {}) => ({
  device: "eth0",
  mac: "52:54:00:12:34:56",
  ipv4: "10.0.0.5",
  ipv4_network: "10.0.0.0/24",
  is_private: true,
  is_public: false,
  is_loopback: false,
  is_bridge: false,
  ...over,
});
const base = (over: Record<string, unknown> = {}) => ({
  kernel: "Linux",
  machine: "x86_64",
  os: {
    name: "Debian GNU/Linux",
    version: "12",
    family: "debian",
    id: "debian",
    version_id: "12",
    codename: "bookworm",
  },
  cpu_count: 4,
  mem_gb: 7.8,
  hostname: "web1",
  networking: { interfaces: [iface()] },
  pkg_manager: "apt",
  init: "systemd",
  virtual: "vm",
  ...over,
});

describe("validateFacts", () => {
  test("facts of a real agent come back as they were, nothing dropped", () => {
    const f = base({
      networking: {
        interfaces: [
          iface(),
          iface({
            device: "lo",
            ipv4: "127.0.0.1",
            ipv4_network: "127.0.0.0/8",
            is_private: false,
            is_loopback: true,
            ipv6: "::1",
          }),
        ],
      },
    });
    expect(validateFacts(f)).toEqual({ facts: f as never, dropped: [] });
  });

  test.each([
    ["a shell command after the address", `10.66.66.66"; id > /tmp/x; echo "`],
    ["a trailing newline", "10.0.0.1\n"],
    ["an octet past 255", "10.0.0.256"],
    ["a hostname", "db.example.com"],
    ["an IPv6 address", "fe80::1"],
    ["a number", 167772161],
    ["missing", undefined],
  ])("an interface whose ipv4 is %s is dropped", (_what, ipv4) => {
    const { facts, dropped } = validateFacts(
      base({
        networking: { interfaces: [iface({ ipv4 }), iface({ device: "eth1", ipv4: "10.0.0.6" })] },
      }),
    );
    expect(facts.networking.interfaces.map((i) => i.ipv4)).toEqual(["10.0.0.6"]);
    expect(dropped).toEqual(["networking.interfaces[0]: ipv4 is not an IPv4 address"]);
  });

  test.each([
    ["8.8.8.8", { is_private: false, is_public: true, is_loopback: false }],
    ["127.0.0.2", { is_private: false, is_public: false, is_loopback: true }],
    ["192.168.1.9", { is_private: true, is_public: false, is_loopback: false }],
    ["192.0.2.1", { is_private: false, is_public: false, is_loopback: false }],
  ])("the flags of %s come from the address, not from the agent", (ipv4, flags) => {
    const lie = {
      is_private: !flags.is_private,
      is_public: !flags.is_public,
      is_loopback: !flags.is_loopback,
    };
    const got = validateFacts(
      base({ networking: { interfaces: [iface({ ipv4, ipv4_network: `${ipv4}/24`, ...lie })] } }),
    ).facts.networking.interfaces[0]!;
    expect({
      is_private: got.is_private,
      is_public: got.is_public,
      is_loopback: got.is_loopback,
    }).toEqual(flags);
  });

  test("ipv4_network is recomputed from the address and the prefix; a bad one drops the interface", () => {
    const { facts, dropped } = validateFacts(
      base({
        networking: {
          interfaces: [
            iface({ ipv4_network: "1.2.3.4/24" }),
            iface({ device: "x", ipv4_network: "10.0.0.0/24; id" }),
            iface({ device: "y", ipv4_network: "10.0.0.0/33" }),
          ],
        },
      }),
    );
    expect(facts.networking.interfaces.map((i) => i.ipv4_network)).toEqual(["10.0.0.0/24"]);
    expect(dropped).toEqual([
      "networking.interfaces[1]: ipv4_network is not a network",
      "networking.interfaces[2]: ipv4_network is not a network",
    ]);
  });

  test("a bad mac becomes the empty mac, a bad ipv6 is left out, is_bridge is true only when it is", () => {
    const got = validateFacts(
      base({
        networking: {
          interfaces: [iface({ mac: "$(id)", ipv6: "fe80::1%$(id)", is_bridge: "yes" })],
        },
      }),
    ).facts.networking.interfaces[0]!;
    expect(got).toEqual({
      device: "eth0",
      mac: "00:00:00:00:00:00",
      ipv4: "10.0.0.5",
      ipv4_network: "10.0.0.0/24",
      is_private: true,
      is_public: false,
      is_loopback: false,
      is_bridge: false,
    });
  });

  test("facts without networking keep the shape: no interfaces, listed as dropped", () => {
    const { facts, dropped } = validateFacts(base({ networking: undefined }));
    expect(facts.networking).toEqual({ interfaces: [] });
    expect(dropped).toEqual(["networking: no list of interfaces"]);
  });

  test("fields of the wrong type or size are replaced by empty values; unknown keys dropped", () => {
    const { facts, dropped } = validateFacts({
      kernel: "Darwin",
      machine: 5,
      os: "x",
      cpu_count: -1,
      mem_gb: Infinity,
      hostname: "h".repeat(300),
      networking: { interfaces: "eth0" },
      evil: "<script>",
    });
    expect(facts).toEqual({
      kernel: "Darwin",
      machine: "",
      os: { name: "", version: "", family: "", id: "", version_id: "", codename: "" },
      cpu_count: 0,
      mem_gb: 0,
      hostname: "",
      networking: { interfaces: [] },
      pkg_manager: "none",
      init: "none",
      virtual: "none",
    });
    expect(dropped).toEqual([
      '"evil": not a fact',
      "machine: not a short printable string",
      "os.name: not a short printable string",
      "os.version: not a short printable string",
      "cpu_count: out of range or not a number",
      "mem_gb: out of range or not a number",
      "hostname: not a short printable string",
      "networking: no list of interfaces",
    ]);
  });

  test("the backends' facts: only known words pass (a command in pkg_manager or os.id is dropped); absent ones are filled in quietly", () => {
    const bad = validateFacts(
      base({
        os: {
          name: "D",
          version: "1",
          family: "debian; rm -rf /",
          id: "x y",
          version_id: "12",
          codename: "a\nb",
        },
        pkg_manager: "curl|sh",
        init: "upstart",
        virtual: 3,
      }),
    );
    expect(bad.facts.os).toEqual({
      name: "D",
      version: "1",
      family: "",
      id: "",
      version_id: "12",
      codename: "",
    });
    expect([bad.facts.pkg_manager, bad.facts.init, bad.facts.virtual]).toEqual([
      "none",
      "none",
      "none",
    ]);
    expect(bad.dropped).toEqual([
      "os.family: not one of the known values",
      "os.id: not one of the known values",
      "os.codename: not one of the known values",
      "pkg_manager: not one of the known values",
      "init: not one of the known values",
      "virtual: not one of the known values",
    ]);
    const old = validateFacts(
      base({
        os: { name: "D", version: "1" },
        pkg_manager: undefined,
        init: undefined,
        virtual: undefined,
      }),
    );
    expect(old.dropped).toEqual([]);
    expect(old.facts.os).toEqual({
      name: "D",
      version: "1",
      family: "",
      id: "",
      version_id: "",
      codename: "",
    });
  });

  test("a hostname with a control character is dropped (it would forge log lines)", () => {
    expect(validateFacts(base({ hostname: "web1\nagent.connected id=root" })).facts.hostname).toBe(
      "",
    );
  });

  test.each([
    ["not an object", "facts", "facts must be an object, got string"],
    ["a list", [], "facts must be an object, got array"],
    [
      "an unknown kernel",
      { kernel: "Windows" },
      'facts.kernel must be "Linux" or "Darwin", got "Windows"',
    ],
  ])("%s is refused", (_what, raw, message) => {
    expect(() => validateFacts(raw)).toThrow(message);
  });

  test("at most 512 interfaces are kept", () => {
    const many = Array.from({ length: 600 }, (_, i) => iface({ device: `e${i}` }));
    const { facts, dropped } = validateFacts(base({ networking: { interfaces: many } }));
    expect(facts.networking.interfaces.length).toBe(512);
    expect(dropped).toEqual(["networking.interfaces: 88 past the first 512"]);
  });
});
