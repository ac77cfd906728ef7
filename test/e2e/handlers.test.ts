// Handlers end to end: the compiled binary as master and agent, a recorded
// `systemctl` double first in the agent's PATH (this machine has no systemd:
// the double answers from captured output and logs every call). Handlers run
// once, after the host's last role, deduplicated, restart absorbing reload; an
// owed handler survives a kill -9 of the agent between the change and the end
// of the apply, and the next apply runs it although nothing changes then.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";
import { tempDir } from "../_temp.ts";

const fakeDir = tempDir("salty-systemctl-");
const fake = fakeDir.path;
const LOG = join(fake, "calls.log");
// The recorded double (test/operators/init-output/systemctl-double.sh): `show` answers from a table captured
// on a systemd host, every other call is logged. It is linked as `systemctl` first in the agent's PATH.
symlinkSync(
  join(import.meta.dir, "../operators/init-output/systemctl-double.sh"),
  join(fake, "systemctl"),
);

const files: Record<string, string> = {
  "hosts/index.ts": `export default { hosts: { lab: { web1: { env: "dev", roles: ["conf", "web", "services"] } } } };\n`,
  // service() and unit() through the real agent: only when asked (svc=true), so the other tests see no listing calls.
  "roles/services.ts": `import type { Role } from "salty";
export default (async ({ service, unit, svc }) => {
  if (!svc) return;
  await unit("app.service", "app/app.service", { init: "systemd", notify: "app:restart" });
  await service("redis-server", { running: true, enabled: true, init: "systemd" });
  await service("nginx", { running: true, enabled: true, init: "systemd" });
}) satisfies Role;
`,
  "files/app/app.service": "[Service]\nExecStart=/usr/local/bin/app\n",
  // Each role changes a line when `v` changes, and notifies only then.
  "roles/conf.ts": `import type { Role } from "salty";
export default (async ({ lineInFile, notify, shell, v, block }) => {
  const r = await lineInFile("conf=" + String(v ?? 0), "/etc/app.conf");
  if (r.changed) await notify("app", "reload", { init: "systemd" });
  if (r.changed) await notify("app", "restart", { init: "systemd" });
  if (block) await shell(["sleep", "60"]);
}) satisfies Role;
`,
  "roles/web.ts": `import type { Role } from "salty";
export default (async ({ lineInFile, notify, v }) => {
  const r = await lineInFile("web=" + String(v ?? 0), "/etc/web.conf");
  if (r.changed) await notify("web", "reload", { init: "systemd" });
  if (r.changed) await notify("app", "reload", { init: "systemd" });
}) satisfies Role;
`,
};

let w: World;
const calls = () =>
  existsSync(LOG) ? readFileSync(LOG, "utf8").trim().split("\n").filter(Boolean) : [];
const journal = () => join(w.dir, "agent-keys", "web1", "handlers.json");
const apply = (...args: string[]) => w.salty(["apply", "-vv", "--keyroot", w.keyroot, ...args]);

beforeAll(async () => {
  w = await world({ files, env: { PATH: `${fake}:${process.env.PATH}`, SYSTEMCTL_LOG: LOG } });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("web1");
  await w.waitHosts(["web1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
  fakeDir[Symbol.dispose]();
});

describe("handlers", () => {
  test("service() and unit() through the real agent: a started and enabled service, a unit written then daemon-reload, its restart at the end; then nothing", async () => {
    const before = calls().length;
    const r = await apply("svc=true", "roles=services");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(calls().slice(before)).toEqual([
      "daemon-reload",
      "enable redis-server.service",
      "start redis-server.service",
      "restart app.service",
    ]);
    expect(r.stdout).toContain('"output":"redis-server.service: enabled, started"');
    expect(readFileSync(join(w.sandbox("web1"), "etc/systemd/system/app.service"), "utf8")).toBe(
      "[Service]\nExecStart=/usr/local/bin/app\n",
    );
    // The double's table does not change: redis-server is still "inactive, disabled" there, so only the unit is looked at again.
    const again = await apply("svc=true", "roles=services");
    expect(again.stdout).toMatch(
      /\{"cmd":"unit\(app\.service, app\/app\.service\)","rc":0,"changed":false/,
    );
    expect(
      calls()
        .slice(before)
        .filter((c) => c.includes("app.service")),
    ).toEqual(["restart app.service"]);
    writeFileSync(LOG, "");
  });

  test("a dry run lists them and runs nothing", async () => {
    const r = await apply("--dry-run", "v=1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("role:handlers");
    expect(r.stdout).toContain('"output":"would restart app.service"');
    expect(r.stdout).toContain('"output":"would reload web.service"');
    expect(calls()).toEqual([]);
    expect(existsSync(journal())).toBe(false);
  });

  test("run once at the end, after all roles, first-notified order, restart absorbing reload", async () => {
    const r = await apply("v=1");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/role:web[\s\S]*role:handlers/);
    expect(calls()).toEqual(["restart app.service", "reload web.service"]);
    expect(existsSync(journal())).toBe(false);
  });

  test("nothing changed, nothing owed: no handler, no handlers line", async () => {
    const r = await apply("v=1");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/changed:0/);
    expect(r.stdout).not.toContain("handlers");
    expect(calls()).toEqual(["restart app.service", "reload web.service"]);
  });

  test("kill -9 of the agent between the change and the handler: the next apply runs it, although nothing changes then", async () => {
    const before = calls().length;
    const pending = apply("v=2", "block=true", "roles=conf");
    // The change is made and its handlers journaled (reload, then restart absorbing it) before the role blocks.
    const journaled = () =>
      existsSync(journal()) && readFileSync(journal(), "utf8").includes("restart");
    for (let i = 0; i < 300 && !journaled(); i++) await Bun.sleep(50);
    expect(JSON.parse(readFileSync(journal(), "utf8"))).toEqual([
      { service: "app.service", action: "restart", init: "systemd" },
    ]);
    w.agents.get("web1")!.kill("SIGKILL");
    const lost = await pending;
    expect(lost.code).toBe(1);
    expect(calls().length).toBe(before);

    await w.startAgent("web1");
    await w.waitHosts(["web1"]);
    const r = await apply("v=2", "roles=conf");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/role:conf +elapsed:\S+ errors:0 changed:0/);
    expect(r.stdout).toContain("role:handlers");
    expect(calls().slice(before)).toEqual(["restart app.service"]);
    expect(existsSync(journal())).toBe(false);

    const again = await apply("v=2", "roles=conf");
    expect(again.stdout).not.toContain("handlers");
    expect(calls().slice(before)).toEqual(["restart app.service"]);
  });
});
