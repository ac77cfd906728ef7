// A role sent without the shared hosts (its code names neither `hosts` nor
// `getIps`, lib/master/shared-hosts.ts): its templates that name them get them
// from the connection first (RoleCaps.sharedHosts), those that do not never
// ask, and the role's own reads of them fail with a clear error, never an
// empty value. Through the real executor, operators and a real fileserver.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Facts, HostInfo } from "salty";
import { createExecutor } from "../../lib/agent/runner.ts";
import { SharedHostsStore } from "../../lib/agent/shared-hosts.ts";
import { setLogSink } from "../../lib/log.ts";
import { FileServer } from "../../lib/master/fileserver.ts";
import { SharedHostsSent, namesHosts } from "../../lib/master/shared-hosts.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const temp = tempDirs("salty-on-demand-");

const facts = (ip: string) =>
  ({
    networking: {
      interfaces: [{ device: "eth0", ipv4: ip, ipv4_network: "10.0.0.0/24" }],
    },
  }) as unknown as Facts;
const host = (roles: string[], ip: string): HostInfo => ({
  env: "prod",
  cluster: "c",
  roles,
  vars: { port: 80 },
  facts: facts(ip),
});
const inventory = () => ({
  me: host(["web"], "10.0.0.3"),
  a: host(["web"], "10.0.0.2"),
  b: host(["db"], "10.0.0.9"),
});

/** A fileroot with these templates, an executor over it, and what it asked of the connection. */
function setup(templates: Record<string, string>) {
  const root = temp();
  for (const [name, text] of Object.entries(templates)) {
    mkdirSync(join(root, "fileroot/files"), { recursive: true });
    writeFileSync(join(root, "fileroot/files", name), text);
  }
  mkdirSync(join(root, "out"));
  const files = new FileServer({
    fileroot: join(root, "fileroot"),
    keyroot: join(root, "keys"),
  }).sourceFor(() => new Set());
  const conn = new SharedHostsSent();
  const store = new SharedHostsStore();
  let asked = 0;
  const caps = {
    files,
    serverShell: () => Promise.reject(new Error("no server shell")),
    sharedHosts: (digest: string) =>
      store.fetch(digest, async () => {
        asked++;
        return conn.fetch(digest);
      }),
  };
  const execute = createExecutor({ pathPrefix: join(root, "out") });
  const run = (source: string) => {
    const others = inventory();
    const src = { source };
    const sharedHosts = namesHosts(src) ? conn.refFor(others) : conn.withheld(others);
    const req: RunRoleRequest = {
      role: "web",
      source,
      filename: "roles/web.ts",
      context: { id: "me", me: others.me, role: "web", hosts: {}, bootstrap: false, args: {} },
      sharedHosts,
      dryRun: false,
      diff: false,
      timeoutMs: 10_000,
    };
    return execute(store.attach(req), caps);
  };
  return {
    run,
    asked: () => asked,
    out: (p: string) => readFileSync(join(root, "out", p), "utf8"),
  };
}

describe("a role sent without the shared hosts", () => {
  test("a template that names them gets them (less this host) and getIps from them, fetched once", async () => {
    const s = setup({
      "peers.conf": `<% for (const id of Object.keys(hosts)) { %><%= id %>:<%= hosts[id].vars.port %> <% } %>|<%= getIps("web").join(",") %>\n`,
    });
    const role = `export default async ({ render }) => {
      await render("peers.conf", "/peers.conf");
      await render("peers.conf", "/again.conf");
    };`;
    const run = await s.run(role);
    expect(run.results.map((r) => r.error ?? r.rc)).toEqual([0, 0]);
    expect(s.out("peers.conf")).toBe("a:80 b:80 |10.0.0.2,10.0.0.3\n");
    expect(s.out("again.conf")).toBe(s.out("peers.conf"));
    expect(s.asked()).toBe(1);
    await s.run(role);
    expect(s.asked()).toBe(1); // held by the executor for this digest
  });

  test("a template that says hosts only in its text, not its code, asks nothing", async () => {
    const s = setup({ "plain.conf": "# /etc/hosts entries for <%= id %>: see hosts(5)\n" });
    const run = await s.run(
      `export default async ({ render }) => { await render("plain.conf", "/p.conf"); };`,
    );
    expect(run.rc).toBe(0);
    expect(s.out("p.conf")).toBe("# /etc/hosts entries for me: see hosts(5)\n");
    expect(s.asked()).toBe(0);
  });

  test("a template that reaches every local at once (locals) gets them too", async () => {
    const s = setup({ "dyn.conf": `<%= Object.keys(locals["ho" + "sts"]).join(",") %>\n` });
    const run = await s.run(
      `export default async ({ render }) => { await render("dyn.conf", "/d.conf"); };`,
    );
    expect(run.rc).toBe(0);
    expect(s.out("d.conf")).toBe("a,b\n");
  });

  test.each([
    [`ctx["ho" + "sts"]`, "hosts"],
    [`ctx["get" + "Ips"]("web")`, "getIps"],
    [`JSON.stringify({ ...ctx })`, "getIps"], // the first of the two a spread reads
  ])("the role's own %s fails with a clear error", async (expr, name) => {
    const s = setup({});
    const run = await s.run(`export default async (ctx) => { ctx.print(String(${expr})); };`);
    expect(run.rc).toBe(1);
    expect(run.output).toBeUndefined();
    expect(run.results.at(-1)!.error).toContain(
      `${name} was not sent to this role: the master sends the other hosts only to a role whose code (roles/web.ts and the roles/lib/ modules it imports) names \`hosts\` or \`getIps\``,
    );
  });

  test("a role that names them gets them whole", async () => {
    const s = setup({});
    const run = await s.run(
      `export default async ({ hosts, getIps, print }) => { print(Object.keys(hosts).join(",") + "|" + getIps("web").join(",")); };`,
    );
    expect(run.output).toBe("a,b|10.0.0.2,10.0.0.3");
  });
});

describe("the master's side", () => {
  test.each([
    ["ctx.hosts", {}, true],
    ["const { getIps } = ctx", {}, true],
    ["// reads hosts below", {}, true],
    ["ctx.me.vars.host; ctx.myhosts; hosts_list", {}, false],
    [
      "import { f } from './lib/f.ts'",
      { "roles/lib/f.ts": "export const f = (c) => c.hosts" },
      true,
    ],
    ["import { f } from './lib/f.ts'", { "roles/lib/f.ts": "export const f = 1" }, false],
  ])("namesHosts(%p with modules %p) is %p", (source, modules, expected) => {
    expect(namesHosts({ source, modules })).toBe(expected);
  });

  test("hosts.fetch gives only the hosts of the apply in progress, and nothing once it ended", () => {
    const conn = new SharedHostsSent();
    expect(() => conn.fetch("0".repeat(64))).toThrow(/not those of this agent's apply/);
    const ref = conn.withheld(inventory());
    expect(ref.packed).toBeUndefined();
    expect(ref.onDemand).toBe(true);
    expect(conn.fetch(ref.digest)).toBeInstanceOf(Uint8Array);
    expect(() => conn.fetch("0".repeat(64))).toThrow(/not those/);
    conn.endApply();
    expect(() => conn.fetch(ref.digest)).toThrow(/not those/);
    // Fetched is not held: the next request that names them carries them.
    expect(conn.refFor(inventory()).packed).toBeDefined();
  });
});
