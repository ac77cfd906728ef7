// The agent's production file-source chain (RPC -> role worker -> scan cache ->
// known hashes), driven whole: the real session, worker executor, role worker
// and runner, against a master that serves a real fileroot and counts the
// requests that reach the wire. A layer that drops a method (readMany,
// scanSince) shows here as one request per file.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serveMaster } from "../../lib/agent/session.ts";
import { createWorkerExecutor } from "../../lib/agent/worker-executor.ts";
import { FileServer } from "../../lib/master/fileserver.ts";
import { setLogSink } from "../../lib/log.ts";
import type { AgentApi, MasterApi, RoleReport } from "../../lib/wire/api.ts";
import { memoryPair } from "../../lib/wire/memory.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { baseContext } from "../operators/_world.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const temp = tempDirs("salty-chain-");
const FILES = 2000;

/** A master over a real fileroot that counts each method an agent calls. */
function countingMaster(fileroot: string, link: Parameters<typeof serveMaster>[0]) {
  const source = new FileServer({ fileroot, keyroot: join(fileroot, "keys") }).sourceFor(
    () => new Set(),
  );
  const calls: Record<string, number> = {};
  const count = (m: string) => void (calls[m] = (calls[m] ?? 0) + 1);
  let hello!: () => void;
  const ready = new Promise<void>((r) => (hello = r));
  const rpc = new Rpc<MasterApi, AgentApi>(link, {
    "agent.hello": () => (hello(), { masterVersion: "test" }),
    "agent.facts": () => null,
    "cmd.output": () => null,
    "role.result": () => null,
    "agent.applyMe": () => Promise.reject(new Error("no scheduled applies here")),
    "agent.report": () => Promise.reject(new Error("no pull reports here")),
    "hosts.fetch": () => Promise.reject(new Error("no shared hosts here")),
    "file.fetch": (p) => (count("fetch"), source.fetch(p.path, p.have)),
    "file.scan": (p) => (count("scan"), source.scan(p.dir)),
    "file.scanSince": (p) => (count("scanSince"), source.scanSince!(p.dir, p.have)),
    "file.read": (p) => (count("read"), source.read(p.path, p.offset, p.length)),
    "file.readMany": (p) => (count("readMany"), source.readMany!(p.reads)),
    "server.shell": () => Promise.reject(new Error("no server shell here")),
    ping: () => null,
  });
  return { rpc, calls, ready };
}

const executors: Array<{ close(): void }> = [];
afterAll(() => executors.forEach((e) => e.close()));

test("a first syncdir of 2,000 small files reaches the wire as a few readMany requests, and a second run as one scanSince", async () => {
  const dir = temp();
  const fileroot = join(dir, "fileroot");
  for (let i = 0; i < FILES; i++) {
    const sub = join(fileroot, "files/site", `d${i % 20}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  const [agentLink, masterLink] = memoryPair(["agent", "master"]);
  const master = countingMaster(fileroot, masterLink);
  const execute = createWorkerExecutor({ pathPrefix: join(dir, "dst") });
  executors.push(execute);
  void serveMaster(agentLink, { gatherFacts: async () => ({}) as never, execute, version: "test" });
  await master.ready;
  const run = (): Promise<RoleReport> =>
    master.rpc.call("role.run", {
      role: "site",
      source: `export default async ({ syncdir }) => { await syncdir("files/site", "/srv/site"); };`,
      filename: "roles/site.ts",
      context: { ...baseContext, role: "site" },
      dryRun: false,
      diff: false,
      timeoutMs: 60_000,
    });

  const first = await run();
  expect(first.results.map((r) => [r.rc, r.error])).toEqual([[0, undefined]]);
  expect(readdirSync(join(dir, "dst/srv/site"))).toHaveLength(20);
  expect(master.calls.read ?? 0).toBe(0);
  expect(master.calls.readMany).toBeGreaterThan(0);
  expect(master.calls.readMany).toBeLessThanOrEqual(Math.ceil(FILES / 64) + 1);
  expect(master.calls.scanSince).toBe(1);
  expect(master.calls.scan ?? 0).toBe(0);

  for (const k of Object.keys(master.calls)) delete master.calls[k];
  const second = await run();
  expect(second.results.map((r) => [r.rc, r.changed])).toEqual([[0, false]]);
  expect(master.calls).toEqual({ scanSince: 1 });
}, 60_000);
