// salty apply end to end: the compiled binary as a master and three agents on
// 127.0.0.1, each agent writing into its own --path sandbox.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deriveKey, encryptString } from "../../lib/crypto/secrets.ts";
import { world, type World } from "./_harness.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { connectUnix } from "../../lib/wire/tcp.ts";
import type { ApplyReport, ClientApi, ControlApi } from "../../lib/wire/api.ts";

const PASSWORD = "e2e-password-0123456789abcdef0123456789";
const key = deriveKey(PASSWORD);

const inventory = `import type { Inventory } from "salty";
export default {
  clusters: { prod: { domain: "prod.test" }, stage: { domain: "stage.test" } },
  envs: { prod: { level: "warn" }, stage: { level: "debug" } },
  hosts: {
    prod: {
      web1: { env: "prod", roles: ["base", "web", "tag-only"], tags: ["tag-only"], vars: { secret: "${encryptString("web1-secret-value", key)}" } },
      web2: { env: "prod", roles: ["base", "web"], vars: { secret: "${encryptString("web2-secret-value", key)}" } },
      ghost: { env: "prod", roles: ["base"] },
    },
    stage: { st1: { env: "stage", roles: ["base"] } },
  },
} satisfies Inventory;
`;

const files: Record<string, string> = {
  "hosts/index.ts": inventory,
  "roles/base.ts": `import type { Role } from "salty";
export default (async ({ makedirs, copy, render, shell, syncdir, fail, slow, escape, spin }) => {
  await makedirs("/etc/app");
  await copy("base/motd", "/etc/app/motd");
  await render("base/app.conf", "/etc/app/app.conf");
  if (fail) await shell("echo boom; exit 3");
  if (slow) await shell("sleep 20");
  if (spin) while (true) {}
  if (escape) {
    await copy("../keys/crypto.pass", "/etc/app/stolen");
    await syncdir("/etc", "/etc/app/etc");
  }
}) satisfies Role;
`,
  "roles/web.ts": `import type { Role } from "salty";
export default (async ({ render, hosts, me }) => {
  await render("web/view.txt", "/etc/app/view.txt", { vars: { others: JSON.stringify(hosts), mine: JSON.stringify(me.vars) } });
}) satisfies Role;
`,
  "files/base/motd": "managed by salty\n",
  "files/base/app.conf":
    "host=<%= id %> cluster=<%= me.cluster %> level=<%= me.vars.level %> domain=<%= me.vars.domain %>\n",
  "files/web/view.txt": "others=<%= others %>\nmine=<%= mine %>\n",
};

let w: World;

beforeAll(async () => {
  w = await world({ files, password: PASSWORD });
  await w.startMaster(["--auto-accept"]);
  await Promise.all(["web1", "web2", "st1"].map((id) => w.startAgent(id)));
  await w.waitHosts(["web1", "web2", "st1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

const apply = (...args: string[]) => w.salty(["apply", "--keyroot", w.keyroot, ...args]);
const sandboxFile = (id: string, path: string) => join(w.sandbox(id), path);

describe("salty apply", () => {
  test("the first apply changes every host, the second changes nothing", async () => {
    const first = await apply();
    // An apply without target= covers every host: one not connected is missing (before issue 12: left out, exit 0).
    expect(first.stderr).toBe("host:ghost ...host missing...\n");
    expect(first.code).toBe(1);
    for (const id of ["web1", "web2", "st1"])
      expect(first.stdout).toMatch(
        new RegExp(`^host:${id} elapsed:\\S+ errors:0 changed:[1-9]`, "m"),
      );
    expect(first.stdout).not.toContain("ghost");
    expect(readFileSync(sandboxFile("web1", "etc/app/app.conf"), "utf8")).toBe(
      "host=web1 cluster=prod level=warn domain=prod.test\n",
    );
    expect(readFileSync(sandboxFile("st1", "etc/app/app.conf"), "utf8")).toBe(
      "host=st1 cluster=stage level=debug domain=stage.test\n",
    );
    expect(existsSync(sandboxFile("st1", "etc/app/view.txt"))).toBe(false);

    const second = await apply("-v");
    expect(second.code).toBe(1);
    expect(second.stderr).toBe("host:ghost ...host missing...\n");
    for (const id of ["web1", "web2", "st1"])
      expect(second.stdout).toMatch(
        new RegExp(`^host:${id} elapsed:\\S+ errors:0 changed:0$`, "m"),
      );
    expect(second.stdout).toMatch(/^ {2}role:base elapsed:\S+ errors:0 changed:0$/m);
    expect(second.stdout).toMatch(/^elapsed:\d+\.\d{3}$/m);
  });

  test("-vv lists every command as JSON; declared tags run nothing", async () => {
    const r = await apply("-vv", "target=web1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'web1| role:base {"cmd":"copy(base/motd, /etc/app/motd)","rc":0,"changed":false,"created":false,"elapsed":',
    );
    expect(r.stdout).not.toContain("tag-only");
  });

  test("a failing shell gives exit 1 and the failure on stderr", async () => {
    const r = await apply("target=web1", "roles=base", "fail=true");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^host:web1 elapsed:\S+ errors:1 changed:1$/m);
    expect(r.stderr).toContain('{"cmd":"shell(echo boom; exit 3)","rc":3,"changed":true');
    expect(r.stderr).toContain('"output":"boom\\n"');
  });

  test("target=GLOB, target=cluster:NAME, roles= and skip= select exactly what they should", async () => {
    const glob = await apply("-vv", "target=web*");
    expect(glob.code).toBe(0);
    expect(glob.stdout).toMatch(/^host:web1 /m);
    expect(glob.stdout).toMatch(/^host:web2 /m);
    expect(glob.stdout).toContain("\nskipped 2 hosts outside target=web*\n");
    expect(glob.stdout).not.toContain("host:st1");

    const cluster = await apply("-v", "target=cluster:stage");
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toMatch(/^host:st1 elapsed/m);
    expect(cluster.stdout).toContain("\nskipped 3 hosts outside target=cluster:stage\n");
    expect(cluster.stdout).not.toContain("host:web1");

    const roles = await apply("-vv", "target=web1", "roles=web");
    expect(roles.stdout).toMatch(/^ {2}role:base \.\.\.role skipped\.\.\.$/m);
    expect(roles.stdout).toContain('"cmd":"render(web/view.txt, /etc/app/view.txt)"');

    const skip = await apply("-vv", "target=web1", "skip=web");
    expect(skip.stdout).toContain('"cmd":"copy(base/motd, /etc/app/motd)"');
    expect(skip.stdout).not.toContain("render(web/view.txt");
  });

  test("hosts outside the target travel as their ids and places (slimOutside); --json prints them as the master made them", async () => {
    const outside = (id: string): ApplyReport["hosts"][number] => ({
      id,
      status: "skipped",
      elapsed: 0,
      errors: 0,
      changed: 0,
      roles: [],
    });
    // What goes over the wire: asked, their ids at their places; not asked (an older client), whole.
    const call = async (slimOutside: boolean) => {
      const rpc = new Rpc<ClientApi, ControlApi>(
        await connectUnix(join(w.keyroot, "master.sock")),
        { "apply.progress": () => null, "run.event": () => null, "apply.event": () => null },
      );
      try {
        return await rpc.call(
          "apply",
          {
            args: ["target=web2"],
            dryRun: false,
            diff: false,
            ...(slimOutside ? { slimOutside } : {}),
          },
          { timeoutMs: 60_000 },
        );
      } finally {
        rpc.close();
      }
    };
    const slim = await call(true);
    expect(slim.hosts.map((h) => h.id)).toEqual(["web2"]);
    expect(slim.outside).toEqual({ at: [0, 2, 3], ids: ["web1", "ghost", "st1"] });
    const whole = await call(false);
    expect(whole.outside).toBeUndefined();
    expect(whole.hosts.filter((h) => h.status === "skipped")).toEqual(
      ["web1", "ghost", "st1"].map(outside),
    );
    // What the client prints: the whole report, inventory order, each outside host as the master made it.
    const json = await apply("--json", "target=web2");
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as ApplyReport;
    expect(report.outside).toBeUndefined();
    expect(report.hosts.map((h) => `${h.id}:${h.status}`)).toEqual([
      "web1:skipped",
      "web2:ran",
      "ghost:skipped",
      "st1:skipped",
    ]);
    expect(report.hosts.filter((h) => h.status === "skipped")).toEqual(
      ["web1", "ghost", "st1"].map(outside),
    );
    const text = await apply("target=web2");
    expect(text.stdout).toContain("\nskipped 3 hosts outside target=web2\n");
  });

  test("a host of a targeted cluster that is not connected is missing: rc 1", async () => {
    const r = await apply("target=cluster:prod");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("host:ghost ...host missing...");
    expect(r.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0/m);
    const exact = await apply("target=ghost");
    expect(exact.code).toBe(1);
    expect(exact.stderr).toContain("host:ghost ...host missing...");
  });

  test("an agent's context holds none of another host's secrets", () => {
    const web1 = readFileSync(sandboxFile("web1", "etc/app/view.txt"), "utf8");
    expect(web1).toContain(
      'mine={"level":"warn","domain":"prod.test","secret":"web1-secret-value"}',
    );
    expect(web1).toContain('"web2":');
    expect(web1).not.toContain("web2-secret-value");
    expect(web1).not.toContain("NACL[");
    const web2 = readFileSync(sandboxFile("web2", "etc/app/view.txt"), "utf8");
    expect(web2).toContain("web2-secret-value");
    expect(web2).not.toContain("web1-secret-value");
  });

  test("salty meta shows the resolved inventory with secrets masked unless asked", async () => {
    const masked = await w.salty(["meta", "--keyroot", w.keyroot]);
    expect(masked.code).toBe(0);
    const meta = JSON.parse(masked.stdout);
    expect(meta.hosts.web1).toMatchObject({
      cluster: "prod",
      env: "prod",
      roles: ["base", "web", "tag-only"],
      connected: true,
    });
    expect(meta.hosts.web1.vars).toEqual({
      level: "warn",
      domain: "prod.test",
      secret: "NACL[***]",
    });
    expect(meta.hosts.ghost.connected).toBe(false);
    expect(masked.stdout).not.toContain("secret-value");
    const shown = JSON.parse(
      (await w.salty(["meta", "--keyroot", w.keyroot, "--show-secrets"])).stdout,
    );
    expect(shown.hosts.web2.vars.secret).toBe("web2-secret-value");
  });

  test("a role reaching outside the fileroot fails with rc 1 and nothing is sent", async () => {
    const r = await apply("-vv", "target=web1", "roles=base", "escape=true");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"copy\(\.\.\/keys\/crypto\.pass, \/etc\/app\/stolen\)","rc":1.*"error":"[^"]*(escapes|inside files\/|under files)/,
    );
    expect(r.stderr).toMatch(
      /"cmd":"syncdir\(\/etc, \/etc\/app\/etc\)","rc":1.*"error":"[^"]*(absolute|inside the fileroot)/,
    );
    expect(existsSync(sandboxFile("web1", "etc/app/stolen"))).toBe(false);
    expect(existsSync(sandboxFile("web1", "etc/app/etc"))).toBe(false);
  });

  test("an inventory error names the host and field, exit 1; fixing it needs no restart", async () => {
    const path = join(w.fileroot, "hosts/index.ts");
    writeFileSync(path, inventory.replace('st1: { env: "stage"', 'st1: { env: "stg"'));
    const bad = await apply();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/st1.*unknown env "stg"/);
    expect(bad.stdout).toBe("");
    writeFileSync(path, inventory);
    expect((await apply("target=cluster:stage")).code).toBe(0);
  });

  test("bad apply arguments are usage errors: exit 2", async () => {
    const r = await apply("id=x");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^salty: .*id/);
    expect((await apply("noequals")).code).toBe(2);
  });

  test("a role that never yields is stopped at its timeout; the agent keeps serving", async () => {
    const r = await apply("--timeout", "1", "target=web1", "roles=base", "spin=true");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"role\(base\)","rc":1.*"error":"roles\/base\.ts: timed out after 1s \(the role did not yield; it was stopped\)"/,
    );
    const after = await apply("target=web1");
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0/m);
  });

  test("an agent killed mid-apply: rc 1 connection lost for it, the others finish", async () => {
    const running = apply("-vv", "target=cluster:stage", "slow=true");
    const other = apply("-v", "target=web2");
    await Bun.sleep(1000);
    w.agents.get("st1")!.kill("SIGKILL");
    const [r, o] = await Promise.all([running, other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"error":"connection lost"/);
    expect(o.code).toBe(0);
    expect(o.stdout).toMatch(/^host:web2 elapsed:\S+ errors:0/m);
  });
});
