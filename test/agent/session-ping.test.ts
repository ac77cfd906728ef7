// The agent's answer to a ping (agent/session.ts): its params are measured
// like every request's but never decoded, so the answer is null whatever
// they hold; params that are not msgpack still drop the connection.
import { expect, test } from "bun:test";
import { serveMaster, type RoleExecutor } from "../../lib/agent/session.ts";
import { setLogSink } from "../../lib/log.ts";
import type { AgentApi, MasterApi } from "../../lib/wire/api.ts";
import { encode } from "../../lib/wire/codec.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { Rpc } from "../../lib/wire/rpc.ts";

setLogSink(() => {});

/** A master's end of a served agent, once it said hello. */
async function served(packed: boolean) {
  const [agentLink, masterLink] = memoryPair(["agent", "master"]);
  let hello!: () => void;
  const ready = new Promise<void>((r) => (hello = r));
  const fail = () => Promise.reject(new Error("not here"));
  const rpc = new Rpc<MasterApi, AgentApi>(masterLink, {
    "agent.hello": () => (hello(), { masterVersion: "test" }),
    "agent.facts": () => null,
    "cmd.output": () => null,
    "role.result": () => null,
    "agent.applyMe": fail,
    "agent.report": fail,
    "hosts.fetch": fail,
    "file.fetch": fail,
    "file.scan": fail,
    "file.scanSince": fail,
    "file.read": fail,
    "file.readMany": fail,
    "server.shell": fail,
    ping: () => null,
  });
  const noRoles = async () => Promise.reject(new Error("no roles here"));
  const execute: RoleExecutor = packed ? Object.assign(noRoles, { packed: noRoles }) : noRoles;
  const closed = serveMaster(agentLink, {
    gatherFacts: async () => ({}) as never,
    execute,
    version: "test",
  });
  await ready;
  return { rpc, masterLink, closed };
}

test.each([false, true])(
  "a ping is answered with null (an executor that takes packed requests: %p)",
  async (packed) => {
    const { rpc } = await served(packed);
    expect(await rpc.call("ping", null)).toBeNull();
    // Whatever the params hold, they are not read.
    expect(await rpc.call("ping", { any: ["thing", 1] } as never)).toBeNull();
    rpc.close();
  },
);

test("a ping whose params are not msgpack drops the connection, as any malformed request does", async () => {
  const { masterLink, closed } = await served(true);
  const bytes = encode([0, 7, "ping", null]);
  // The params' nil byte (0xc0) made a str 8 header that runs past the frame's end.
  bytes[bytes.length - 1] = 0xd9;
  masterLink.send(bytes);
  expect(await closed).toMatch(/^protocol error/);
});
