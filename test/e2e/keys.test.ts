// Keys and trust end to end: pending, accepted, rejected, a stolen id, a
// changed master key, and a master restart — real master and agent processes.
import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";
import { runAgent } from "../../lib/agent/reconnect.ts";
import { setLogSink } from "../../lib/log.ts";
import type { Facts } from "salty";
import { tempDir } from "../_temp.ts";

const inventory = {
  "hosts/index.ts": `export default { hosts: { lab: { a1: { env: "x", roles: [] } } }, envs: { x: {} } };\n`,
};
let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

async function hostIds(): Promise<string[]> {
  const r = await w!.salty(["hosts", "--json", "--keyroot", w!.keyroot]);
  expect(r.code).toBe(0);
  return Object.keys(JSON.parse(r.stdout));
}

describe("keys", () => {
  test("an agent's key is pending until accepted, then the agent is listed with its facts", async () => {
    w = await world({ files: inventory });
    await w.startMaster();
    const agent = await w.startAgent("a1");
    await w.master!.waitFor(/keys\.pending.*id=a1/);
    await agent.waitFor(/pending/i);
    const list = await w.salty(["keys", "list", "--keyroot", w.keyroot]);
    expect(list.stdout).toMatch(
      /^a1\s+agent\s+pending\s+127\.0\.0\.1\s+\d{4}-\d\d-\d\dT[\d:]{8}Z\s+SHA256:\S+$/m,
    );
    expect(await hostIds()).toEqual([]);
    const accepted = await w.salty(["keys", "accept", "a1", "--keyroot", w.keyroot]);
    expect(accepted.code).toBe(0);
    await w.waitHosts(["a1"]);
    const hosts = JSON.parse((await w.salty(["hosts", "--json", "--keyroot", w.keyroot])).stdout);
    expect(hosts.a1.facts.kernel).toBe("Linux");
    expect(hosts.a1.facts.networking.interfaces.length).toBeGreaterThan(0);
    expect(Date.parse(hosts.a1.connected)).toBeGreaterThan(Date.now() - 60_000);
  });

  test("--auto-accept skips the wait", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("a1");
    await w.waitHosts(["a1"]);
  });

  test("a rejected key is refused with a clear error; the master goes on", async () => {
    w = await world({ files: inventory });
    await w.startMaster();
    const agent = await w.startAgent("bad");
    await w.master!.waitFor(/keys\.pending.*id=bad/);
    expect((await w.salty(["keys", "reject", "bad", "--keyroot", w.keyroot])).code).toBe(0);
    await agent.waitFor(/rejected/i);
    expect(await hostIds()).toEqual([]);
    await w.salty(["keys", "accept", "--all", "--yes", "--keyroot", w.keyroot]);
    await w.startAgent("good");
    await w.master!.waitFor(/keys\.pending.*id=good/);
    await w.salty(["keys", "accept", "good", "--keyroot", w.keyroot]);
    await w.waitHosts(["good"]);
    expect(await hostIds()).toEqual(["good"]);
  });

  test("an agent reusing another's id with a different key is refused; the owner stays", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("a1");
    await w.waitHosts(["a1"]);
    const thief = w.agents.get("a1")!;
    const impostor = await w.startAgent("a1", [], "a1-impostor");
    await impostor.waitFor(/agent a1 is accepted with another key/);
    await w.master!.waitFor(/keys\.mismatch id=a1/);
    expect(await hostIds()).toEqual(["a1"]);
    expect(thief.proc.exitCode).toBeNull();
  });

  test("an agent refuses a master whose key changed", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    const agent = await w.startAgent("a1");
    await w.waitHosts(["a1"]);
    w.master!.kill("SIGKILL");
    await w.master!.proc.exited;
    rmSync(join(w.keyroot, "master.key"));
    rmSync(join(w.keyroot, "master.pub"));
    await w.startMaster(["--auto-accept"]);
    await agent.waitFor(/master.*key.*changed/i);
    await agent.proc.exited;
    expect(agent.proc.exitCode).toBe(1);
    expect(await hostIds()).toEqual([]);
  });

  test("after a master restart every agent is back within the backoff bound", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    await Promise.all(["a1", "a2", "a3"].map((id) => w!.startAgent(id)));
    await w.waitHosts(["a1", "a2", "a3"]);
    w.master!.kill("SIGKILL");
    await w.master!.proc.exited;
    await Bun.sleep(300);
    const restarted = Date.now();
    await w.startMaster(["--auto-accept"]);
    // FAST_TIMING caps the backoff at 0.5 s: one step, plus jitter and a handshake.
    await w.waitHosts(["a1", "a2", "a3"], 5_000);
    expect(Date.now() - restarted).toBeLessThan(5_000);
  });

  test("a remote client needs its own accepted key", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("a1");
    await w.waitHosts(["a1"]);
    // --auto-accept is for agents; a client key always waits for an operator.
    const clientKeys = join(w.dir, "client-keys");
    const remote = () =>
      w!.salty(["hosts", "--json", "--master", `127.0.0.1:${w!.port}`, "--keyroot", clientKeys]);
    const first = await remote();
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(
      /^salty: this client's key is pending on 127\.0\.0\.1:\d+: run "salty keys accept (\S+) --kind client" there$/m,
    );
    const id = first.stderr.match(/keys accept (\S+) --kind/)![1]!;
    expect(
      (await w.salty(["keys", "accept", id, "--kind", "client", "--keyroot", w.keyroot])).code,
    ).toBe(0);
    const second = await remote();
    expect(second.code).toBe(0);
    expect(Object.keys(JSON.parse(second.stdout))).toEqual(["a1"]);
  });

  test("200 agents through the real client code connect and stay connected", async () => {
    w = await world({ files: inventory });
    await w.startMaster(["--auto-accept"]);
    setLogSink(() => {});
    const stop = new AbortController();
    const facts = {
      kernel: "Linux",
      machine: "x86_64",
      hostname: "sim",
      networking: { interfaces: [] },
    } as unknown as Facts;
    const scratch = tempDir("salty-200-");
    const root = scratch.path;
    const ids = Array.from({ length: 200 }, (_, i) => `sim-${String(i).padStart(3, "0")}`);
    const running = ids.map((id) =>
      runAgent({
        host: "127.0.0.1",
        port: w!.port,
        id,
        keyroot: join(root, id),
        signal: stop.signal,
        session: {
          gatherFacts: async () => facts,
          execute: async (req) => ({ role: req.role, elapsed: 0, results: [] }),
          version: "test",
        },
      }),
    );
    try {
      await w.waitHosts(ids, 90_000); // 200 handshakes of ~16 ms CPU each, on 2 busy cores
      await Bun.sleep(1500); // several ping rounds of FAST_TIMING: nobody drops
      expect((await hostIds()).length).toBe(200);
    } finally {
      stop.abort();
      await Promise.all(running);
      scratch[Symbol.dispose]();
      setLogSink((line) => process.stderr.write(line + "\n"));
    }
  }, 120_000);
});
