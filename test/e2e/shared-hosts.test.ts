// The shared `hosts` of role contexts go only to the roles that name them
// (`hosts` or `getIps`, in the role or a roles/lib/ module it imports): a role
// that names neither is sent none (measured: the bytes the master sends to the
// agent, through a counting TCP proxy), reads of them it makes anyway fail
// with a clear error, and its templates that name them fetch them first.
// Compiled binary, real master and agents; an inventory of 300 more hosts
// (not connected, ~1 KB of vars each) makes the hosts weigh ~320 KB.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type Server, type Socket, connect, createServer } from "node:net";
import { join } from "node:path";
import type { Facts } from "salty";
import { myIp } from "../../lib/facts/net.ts";
import { world, type World } from "./_harness.ts";

const FAR = 300;
const far = Object.fromEntries(
  Array.from({ length: FAR }, (_, i) => [
    `far${String(i).padStart(3, "0")}`,
    { env: "dev", roles: ["x"], tags: ["x"], vars: { note: "n".repeat(1000) } },
  ]),
);
const roles = ["none", "dyn", "tpl", "reads", "ips"];

const files: Record<string, string> = {
  "hosts/index.ts": `export default { hosts: {
  lab: {
    web1: { env: "dev", roles: ${JSON.stringify(roles)}, vars: { port: 1 } },
    web2: { env: "dev", roles: ["web"], tags: ["web"], vars: { port: 2 } },
  },
  far: ${JSON.stringify(far)},
} };\n`,
  "roles/none.ts": `export default async ({ lineInFile }) => { await lineInFile("a", "/etc/none.conf"); };\n`,
  "roles/dyn.ts": `export default async (ctx) => { ctx.print(String(Object.keys(ctx["ho" + "sts"]).length)); };\n`,
  "roles/tpl.ts": `export default async ({ render }) => { await render("peers.conf", "/etc/peers.conf"); };\n`,
  "files/peers.conf": `others=<%= Object.keys(hosts).length %> web2=<%= hosts.web2.vars.port %> far=<%= hosts.far000.vars.note.length %>
ips=<%= JSON.stringify(getIps("web")) %>
`,
  "roles/reads.ts": `import { count } from "./lib/count.ts";
export default async (ctx) => { ctx.print("others=" + count(ctx)); };\n`,
  "roles/lib/count.ts": `export const count = (ctx) => Object.keys(ctx.hosts).length;\n`,
  // Names getIps only: the hosts are sent, so even its dynamic read of them works.
  "roles/ips.ts": `export default async (ctx) => {
  ctx.print("ips=" + JSON.stringify(ctx.getIps("web")) + " others=" + Object.keys(ctx["ho" + "sts"]).length);
};\n`,
};

/** Forwards one port to another, counting the bytes that flow back (the master's to the agent). */
class CountingProxy {
  received = 0;
  private server: Server;
  private sockets: Socket[] = [];
  port = 0;
  constructor(target: number) {
    this.server = createServer((client) => {
      const up = connect(target, "127.0.0.1");
      this.sockets.push(client, up);
      up.on("data", (d) => {
        this.received += d.length;
      });
      client.pipe(up);
      up.pipe(client);
      const end = () => {
        client.destroy();
        up.destroy();
      };
      client.on("error", end).on("close", end);
      up.on("error", end).on("close", end);
    });
  }
  listen(): Promise<void> {
    return new Promise((resolve) =>
      this.server.listen(0, "127.0.0.1", () => {
        this.port = (this.server.address() as { port: number }).port;
        resolve();
      }),
    );
  }
  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

let w: World;
let proxy: CountingProxy;
/** getIps("web") as web1 should see it: web2's private address, when this machine has one. */
let webIps: string;

interface Report {
  hosts: Array<{
    id: string;
    roles: Array<{ role: string; output?: string; results: Array<{ rc: number; error?: string }> }>;
  }>;
}

/** One role on web1 (through the proxy): its report and the bytes the master sent web1 meanwhile. */
async function apply(role: string): Promise<{ code: number; report: Report; bytes: number }> {
  const before = proxy.received;
  const r = await w.salty([
    "apply",
    "--json",
    "--keyroot",
    w.keyroot,
    "target=web1",
    `roles=${role}`,
  ]);
  if (!r.stdout) throw new Error(`apply ${role}: ${r.code} ${r.stderr}`);
  const report = JSON.parse(r.stdout) as Report;
  return { code: r.code, report, bytes: proxy.received - before };
}

const roleOf = (report: Report, name: string) =>
  report.hosts.find((h) => h.id === "web1")!.roles.find((r) => r.role === name)!;

/** The hosts weigh FAR KB at least; a request without them, with keep-alives, a few KB. */
const WITH_HOSTS = FAR * 1000;
const WITHOUT_HOSTS = 30_000;

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  proxy = new CountingProxy(w.port);
  await proxy.listen();
  const master = w.port;
  w.port = proxy.port; // web1 dials the proxy
  await w.startAgent("web1");
  w.port = master;
  await w.startAgent("web2");
  await w.waitHosts(["web1", "web2"]);
  const hosts = await w.salty(["hosts", "--json", "--keyroot", w.keyroot]);
  const ip = myIp((JSON.parse(hosts.stdout) as Record<string, { facts: Facts }>).web2!.facts);
  webIps = JSON.stringify(ip ? [ip] : []);
});

afterAll(async () => {
  proxy?.close();
  await w?.[Symbol.asyncDispose]();
});

describe("shared hosts only where named", () => {
  test("a role that names neither hosts nor getIps is sent none (its first apply on the connection)", async () => {
    const r = await apply("none");
    expect(r.code).toBe(0);
    expect(roleOf(r.report, "none").results.map((x) => x.rc)).toEqual([0]);
    expect(r.bytes).toBeLessThan(WITHOUT_HOSTS);
    expect(w.agents.get("web1")!.output).not.toContain("agent.shared_hosts");
  });

  test("its dynamic read of them fails with a clear error, never an empty object", async () => {
    const r = await apply("dyn");
    expect(r.code).toBe(1);
    const dyn = roleOf(r.report, "dyn");
    expect(dyn.output).toBeUndefined();
    expect(dyn.results.at(-1)!.error).toBe(
      "roles/dyn.ts:1: hosts was not sent to this role: the master sends the other hosts only to a role whose code " +
        "(roles/dyn.ts and the roles/lib/ modules it imports) names `hosts` or `getIps`; name one of them there (a comment will do)",
    );
    expect(r.bytes).toBeLessThan(WITHOUT_HOSTS);
  });

  test("a template that names them, of a role that does not, fetches them and renders with them", async () => {
    const r = await apply("tpl");
    expect(r.code).toBe(0);
    expect(roleOf(r.report, "tpl").results.map((x) => x.rc)).toEqual([0]);
    const text = readFileSync(join(w.sandbox("web1"), "etc/peers.conf"), "utf8");
    expect(text).toBe(`others=${FAR + 1} web2=2 far=1000\nips=${webIps}\n`);
    expect(r.bytes).toBeGreaterThan(WITH_HOSTS);
    await w.agents.get("web1")!.waitFor(/agent\.shared_hosts bytes=\d+ via=hosts\.fetch/);
  });

  test("a role whose roles/lib/ module reads them gets them, once per connection and content", async () => {
    const first = await apply("reads");
    expect(first.code).toBe(0);
    expect(roleOf(first.report, "reads").output).toBe(`others=${FAR + 1}`);
    // What a template fetched is not counted as held: the request carries them.
    expect(first.bytes).toBeGreaterThan(WITH_HOSTS);
    const again = await apply("reads");
    expect(roleOf(again.report, "reads").output).toBe(`others=${FAR + 1}`);
    expect(again.bytes).toBeLessThan(WITHOUT_HOSTS);
  });

  test("a role that calls getIps gets the hosts", async () => {
    const r = await apply("ips");
    expect(r.code).toBe(0);
    expect(roleOf(r.report, "ips").output).toBe(`ips=${webIps} others=${FAR + 1}`);
  });
});
