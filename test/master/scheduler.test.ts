// Master and agents over in-memory links: registry, hello, role runs, host
// locking, connection loss mid-apply. The transport is the only thing faked.
import { describe, expect, test } from "bun:test";
import type { Context, Facts } from "salty";
import { memoryPair } from "../../lib/wire/memory.ts";
import { Registry } from "../../lib/master/registry.ts";
import { serveAgent } from "../../lib/master/agent-session.ts";
import { FileServer } from "../../lib/master/fileserver.ts";
import { serveMaster, type RoleExecutor } from "../../lib/agent/session.ts";
import { runApply, type ApplyScope, type HostScope } from "../../lib/master/scheduler.ts";
import { setLogSink } from "../../lib/log.ts";
import type { Capabilities } from "../../lib/wire/api.ts";

setLogSink(() => {});

const facts = { kernel: "Linux", hostname: "t" } as unknown as Facts;

function world(executors: Record<string, RoleExecutor>, capabilities?: Capabilities) {
  const registry = new Registry();
  const files = new FileServer({ fileroot: import.meta.dir, keyroot: "/nonexistent" });
  const links: Record<string, ReturnType<typeof memoryPair>> = {};
  for (const [id, execute] of Object.entries(executors)) {
    const pair = memoryPair([`agent-${id}`, "master"]);
    links[id] = pair;
    serveAgent(pair[0], id, { registry, files, version: "test" });
    void serveMaster(pair[1], {
      gatherFacts: async () => facts,
      execute,
      version: "test",
      ...(capabilities ? { capabilities } : {}),
    });
  }
  return { registry, links };
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(5);
  expect(cond()).toBe(true);
}

function scope(hosts: HostScope[]): () => Promise<ApplyScope> {
  return async () => ({ hosts, context: (id, role) => ({ id, role }) as unknown as Context });
}

const ok: RoleExecutor = async (req) => ({
  role: req.role,
  elapsed: 0.001,
  results: [{ cmd: `shell(${req.context.id})`, rc: 0, changed: true, elapsed: 0.001 }],
});

describe("scheduler over memory links", () => {
  test("agents say hello, roles run in order, tags and skipped roles are handled", async () => {
    const seen: string[] = [];
    const exec: RoleExecutor = async (req) => (seen.push(req.role), ok(req, undefined as never));
    const { registry } = world({ a: exec, b: ok });
    await until(() => registry.size === 2);
    expect(registry.entries().a!.facts.hostname).toBe("t");
    const report = await runApply(
      { args: [], dryRun: false, diff: false },
      {
        registry,
        scope: scope([
          {
            id: "a",
            status: "run",
            roles: [
              { name: "one", skipped: false },
              { name: "tag", skipped: false, tag: true },
              { name: "two", skipped: true },
              { name: "three", skipped: false },
            ],
          },
          { id: "b", status: "run", roles: [{ name: "one", skipped: false }] },
          { id: "c", status: "missing", roles: [] },
        ]),
        roleSource: async (name) =>
          name === "tag" ? undefined : { source: "", filename: `roles/${name}.ts` },
      },
    );
    expect(seen).toEqual(["one", "three"]);
    expect(report.hosts.map((h) => [h.id, h.status, h.errors, h.changed])).toEqual([
      ["a", "ran", 0, 2],
      ["b", "ran", 0, 1],
      ["c", "missing", 1, 0],
    ]);
    expect(report.hosts[0]!.roles.map((r) => [r.role, r.skipped])).toEqual([
      ["one", false],
      ["two", true],
      ["three", false],
    ]);
    expect(report.rc).toBe(1);
  });

  test("a role (not a tag) whose file is gone by its turn fails, never silently skipped", async () => {
    const { registry } = world({ a: ok });
    await until(() => registry.size === 1);
    const report = await runApply(
      { args: [], dryRun: false, diff: false },
      {
        registry,
        scope: scope([
          {
            id: "a",
            status: "run",
            roles: [
              { name: "gone", skipped: false },
              { name: "one", skipped: false },
            ],
          },
        ]),
        roleSource: async (name) =>
          name === "gone" ? undefined : { source: "", filename: `roles/${name}.ts` },
      },
    );
    expect(report.hosts[0]!.roles.map((r) => [r.role, r.errors, r.results[0]?.error])).toEqual([
      ["gone", 1, "roles/gone.ts not found"],
      ["one", 0, undefined],
    ]);
    expect(report.rc).toBe(1);
  });

  test("an agent lost mid-apply fails its unfinished roles; other hosts finish", async () => {
    let links!: ReturnType<typeof world>["links"];
    const dying: RoleExecutor = async (req) => {
      if (req.role === "two") links.a![1].close("agent killed");
      await Bun.sleep(20);
      return ok(req, undefined as never);
    };
    // One request at a time (an agent that does not pipeline), so "one" has surely answered when "two" kills the link.
    const w = world(
      { a: dying, b: ok },
      { pipelining: false, sharedHosts: true, knownFiles: true, hostsOnDemand: false },
    );
    links = w.links;
    await until(() => w.registry.size === 2);
    const roles = ["one", "two", "three"].map((name) => ({ name, skipped: false }));
    const report = await runApply(
      { args: [], dryRun: false, diff: false },
      {
        registry: w.registry,
        scope: scope([
          { id: "a", status: "run", roles },
          { id: "b", status: "run", roles },
        ]),
        roleSource: async (n) => ({ source: "", filename: n }),
      },
    );
    const a = report.hosts[0]!;
    expect(a.roles.map((r) => [r.role, r.errors, r.results[0]?.error])).toEqual([
      ["one", 0, undefined],
      ["two", 1, "connection lost"],
      ["three", 1, "connection lost"],
    ]);
    expect(report.hosts[1]!.errors).toBe(0);
    expect(report.rc).toBe(1);
    await until(() => w.registry.size === 1);
  });

  test("an agent that says it pipelines gets a host's role requests at once and runs them one at a time, in order", async () => {
    const events: string[] = [];
    let registry!: ReturnType<typeof world>["registry"];
    const slow: RoleExecutor = async (req) => {
      events.push(`start ${req.role}`);
      // The first role waits until the master has all three requests out: one at a time, that never happens.
      if (req.role === "one") await until(() => registry.get("a")!.roleCount === 3);
      await Bun.sleep(5);
      events.push(`end ${req.role}`);
      return ok(req, undefined as never);
    };
    registry = world({ a: slow }).registry;
    await until(() => registry.size === 1);
    const roles = ["one", "two", "three"].map((name) => ({ name, skipped: false }));
    const report = await runApply(
      { args: [], dryRun: false, diff: false },
      {
        registry,
        scope: scope([{ id: "a", status: "run", roles }]),
        roleSource: async (n) => ({ source: "", filename: n }),
      },
    );
    expect(events).toEqual([
      "start one",
      "end one",
      "start two",
      "end two",
      "start three",
      "end three",
    ]);
    expect(report.hosts[0]!.roles.map((r) => [r.role, r.errors])).toEqual([
      ["one", 0],
      ["two", 0],
      ["three", 0],
    ]);
    expect(registry.get("a")!.roleCount).toBe(0);
  });

  test("an agent that does not say it pipelines (an older build) gets one role request at a time, contexts whole", async () => {
    const sent: number[] = [];
    let registry!: ReturnType<typeof world>["registry"];
    const exec: RoleExecutor = async (req) => (
      sent.push(registry.get("a")!.roleCount), ok(req, undefined as never)
    );
    registry = world(
      { a: exec },
      { pipelining: false, sharedHosts: false, knownFiles: false, hostsOnDemand: false },
    ).registry;
    await until(() => registry.size === 1);
    const roles = ["one", "two"].map((name) => ({ name, skipped: false }));
    await runApply(
      { args: [], dryRun: false, diff: false },
      {
        registry,
        scope: scope([{ id: "a", status: "run", roles }]),
        roleSource: async (n) => ({ source: "", filename: n }),
      },
    );
    expect(sent).toEqual([1, 1]);
  });

  test("the shared hosts go with a role that names them, and to an agent that cannot do without them (an older build)", async () => {
    const others = { b: { env: "e", cluster: "c", roles: [], vars: {} } };
    const got: Record<string, string> = {};
    const seen =
      (agent: string): RoleExecutor =>
      async (req) => {
        const ref = req.sharedHosts;
        // The agent's connection attaches the hosts it holds: a role gets them, or is told to do without.
        got[`${agent} ${req.role}`] = ref?.onDemand ? "on demand" : ref?.packed ? "hosts" : "none";
        return ok(req, undefined as never);
      };
    const old = { pipelining: false, sharedHosts: true, knownFiles: true, hostsOnDemand: false };
    const now = world({ a: seen("now") }).registry;
    const before = world({ a: seen("old") }, old).registry;
    for (const registry of [now, before]) {
      await until(() => registry.size === 1);
      const roles = ["plain", "reads", "ips", "again"].map((name) => ({ name, skipped: false }));
      await runApply(
        { args: [], dryRun: false, diff: false },
        {
          registry,
          scope: async () => ({
            hosts: [{ id: "a", status: "run", roles }],
            context: (id, role) => ({ id, role, hosts: {} }) as unknown as Context,
            others,
          }),
          roleSource: async (n) => ({
            source: { plain: "ctx.me", reads: "ctx.hosts", ips: "getIps('x')", again: "" }[n]!,
            filename: n,
          }),
        },
      );
    }
    expect(got).toEqual({
      "now plain": "on demand",
      "now reads": "hosts",
      "now ips": "hosts",
      "now again": "on demand",
      "old plain": "hosts",
      "old reads": "hosts",
      "old ips": "hosts",
      "old again": "hosts",
    });
  });

  test("two applies on the same host never interleave", async () => {
    const events: string[] = [];
    const slow: RoleExecutor = async (req) => {
      events.push(`start ${req.context.role}`);
      await Bun.sleep(15);
      events.push(`end ${req.context.role}`);
      return { role: req.role, elapsed: 0, results: [] };
    };
    const { registry } = world({ a: slow });
    await until(() => registry.size === 1);
    const deps = (tag: string) => ({
      registry,
      scope: async (): Promise<ApplyScope> => ({
        hosts: [
          {
            id: "a",
            status: "run",
            roles: [
              { name: "r1", skipped: false },
              { name: "r2", skipped: false },
            ],
          },
        ],
        context: (id: string, role: string) =>
          ({ id, role: `${tag}${role}` }) as unknown as Context,
      }),
      roleSource: async (n: string) => ({ source: "", filename: n }),
    });
    await Promise.all([
      runApply({ args: [], dryRun: false, diff: false }, deps("x")),
      runApply({ args: [], dryRun: false, diff: false }, deps("y")),
    ]);
    expect(events).toEqual([
      "start xr1",
      "end xr1",
      "start xr2",
      "end xr2",
      "start yr1",
      "end yr1",
      "start yr2",
      "end yr2",
    ]);
  });
});
