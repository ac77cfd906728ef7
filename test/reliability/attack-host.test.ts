// Attacks by an accepted agent (and a local user) on the master and on the
// other hosts, against the real binary: facts that carry shell commands or
// lie about their addresses, serverShell, file reads outside files/ or outside
// a role run, --path escapes through symlinked parents, the control socket.
// Each case failed before its fix (docs/reliability.md, S1-S11).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setLogSink } from "../../lib/log.ts";
import { world, type World } from "../e2e/_harness.ts";
import { rogueAgent, until } from "./_tools.ts";

setLogSink(() => {});

type Call = (method: string, params: unknown) => Promise<unknown>;
const callOf = (r: { rpc: { call: unknown } }): Call => (r.rpc.call as Call).bind(r.rpc);

const iface = (device: string, ipv4: string, over: Record<string, unknown> = {}) => ({
  device, mac: "52:54:00:00:00:01", ipv4, ipv4_network: `${ipv4}/24`, is_private: true, is_public: false, is_loopback: false, is_bridge: false, ...over,
});
const factsWith = (interfaces: unknown[] | undefined) => ({
  kernel: "Linux", machine: "x86_64", os: { name: "Linux", version: "1" }, cpu_count: 1, mem_gb: 1, hostname: "evil",
  ...(interfaces ? { networking: { interfaces } } : {}),
});

describe("facts are claims of the host (S1)", () => {
  let w: World;
  const marker = () => join(w.dir, "pwned-by-facts");
  beforeAll(async () => {
    w = await world({
      files: {
        "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {
  good: { env: "lab", roles: ["db"] },
  "evil*": { env: "lab", roles: ["web"], ignore_missing: true },
} } };\n`,
        // The pattern of the attack: addresses pasted into a command line (no quote(), no argv).
        "roles/db.ts": `export default async ({ shell, getIps, print, hosts }) => {
  const ips = getIps("web");
  print("web=" + JSON.stringify(ips));
  print("flags=" + JSON.stringify(Object.values(hosts).flatMap((h) => (h.facts?.networking.interfaces ?? []).map((i) => i.ipv4 + ":" + i.is_private))));
  await shell(\`echo "\${ips.join(" ")}"\`);
};\n`,
      },
    });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("good");
    await w.waitHosts(["good"]);
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  test("an ipv4 carrying a command never reaches another host's shell; lying flags are ignored; what was dropped is logged once", async () => {
    const evil = await rogueAgent(w.port, w.keyroot, "evil1");
    const injected = `10.66.66.66"; touch ${marker()}; echo "`;
    const facts = factsWith([
      iface("eth0", injected),
      iface("eth1", "8.8.8.8", { is_private: true }), // public, claimed private
      iface("eth2", "10.1.2.3", { is_private: false, is_public: true }), // private, claimed public
    ]);
    await callOf(evil)("agent.hello", { facts, version: "rogue" });
    await callOf(evil)("agent.facts", { facts }); // the same again: not logged twice
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| web=["10.1.2.3"]');
    expect(r.stdout).toContain('| flags=["8.8.8.8:false","10.1.2.3:true"]');
    expect(existsSync(marker())).toBe(false);
    const hosts = JSON.parse((await w.salty(["hosts", "--keyroot", w.keyroot])).stdout);
    expect(hosts.evil1.facts.networking.interfaces.map((i: { ipv4: string }) => i.ipv4)).toEqual(["8.8.8.8", "10.1.2.3"]);
    await until(() => /agent\.facts_dropped id=evil1/.test(w.master!.output), 5000, "the drop logged");
    expect(w.master!.output.match(/agent\.facts_dropped id=evil1/g)?.length).toBe(1);
    expect(w.master!.output).toContain("networking.interfaces[0]: ipv4 is not an IPv4 address");
    evil.raw.close();
  });

  test("facts without networking do not make the cluster's getIps() roles fail", async () => {
    const evil = await rogueAgent(w.port, w.keyroot, "evil2");
    await callOf(evil)("agent.hello", { facts: factsWith(undefined), version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    evil.raw.close();
  });
});
