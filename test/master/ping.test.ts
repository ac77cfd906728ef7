import { expect, test } from "bun:test";
import { pingHosts } from "../../lib/master/ping.ts";
import { Registry } from "../../lib/master/registry.ts";
import { AgentSession } from "../../lib/master/connected-agent.ts";
import { RpcError } from "../../lib/wire/rpc.ts";
import type { PlannedHost } from "../../lib/inventory/resolve.ts";
import { pingLines } from "../../lib/client/adhoc-format.ts";

const planned = (id: string, connected: boolean): PlannedHost => ({
  id,
  entry: id,
  cluster: "lab",
  env: "lab",
  roles: [],
  vars: {},
  ignore_missing: false,
  connected,
  status: connected ? "run" : "missing",
});

/** A session whose ping answers as `answer` says. */
function session(id: string, answer: () => Promise<null>): AgentSession {
  return new AgentSession(
    id,
    { call: answer } as unknown as AgentSession["rpc"],
    "127.0.0.1:1",
    {} as AgentSession["facts"],
    "t",
    { pipelining: true, sharedHosts: true, knownFiles: true, hostsOnDemand: true },
  );
}

test("each host's state: ok, no response, not connected (last seen), key pending, not in inventory", async () => {
  const registry = new Registry();
  registry.add(session("ok1", async () => null));
  registry.add(
    session("slow", () => Promise.reject(new RpcError("ping: no reply within 2s", "E_TIMEOUT"))),
  );
  registry.add(session("x9", async () => null));
  const gone = session("away", async () => null);
  registry.add(gone);
  registry.remove(gone, "test");
  const reply = await pingHosts(undefined, 2000, {
    registry,
    select: async () => ({
      hosts: ["ok1", "slow", "away", "never", "newkey"].map((id) =>
        planned(id, registry.get(id) !== undefined),
      ),
      strangers: ["x9"],
    }),
    pendingAgents: async () => ["newkey"],
  });
  expect(reply.hosts.map((h) => [h.id, h.status, h.notInInventory ?? false])).toEqual([
    ["ok1", "ok", false],
    ["slow", "timeout", false],
    ["away", "not connected", false],
    ["never", "not connected", false],
    ["newkey", "key pending", false],
    ["x9", "ok", true],
  ]);
  expect(reply.hosts.find((h) => h.id === "away")!.lastSeen).toBeString();
  expect(reply.hosts.find((h) => h.id === "never")!.lastSeen).toBeUndefined();

  const lines = pingLines(
    { ...reply, hosts: reply.hosts.map((h) => (h.ms === undefined ? h : { ...h, ms: 0.84 })) },
    Date.parse(reply.hosts.find((h) => h.id === "away")!.lastSeen!) + 3 * 60_000 + 5_000,
  );
  expect(lines.map((l) => [l.text, l.error])).toEqual([
    ["ok1     ok  0.8 ms", false],
    ["slow    no response (timeout 2s)", true],
    ["away    not connected (last seen 3m ago)", true],
    ["never   not connected (not seen since the master started)", true],
    ["newkey  key pending (salty keys accept newkey)", true],
    ["x9      ok  0.8 ms  (not in inventory)", false],
    ["2/6 hosts answered, elapsed:" + reply.elapsed.toFixed(3), true],
  ]);
});
