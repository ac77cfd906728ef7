// service() and unit(): systemd's and launchd's listings parsed from captured
// output, the commands planned from them (through a fake probe that answers
// only its fixture), unit states read once per apply, a unit written from the
// fileroot followed by daemon-reload.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseLaunchd, parseSystemdLists, serviceCommands, unitName } from "../../lib/operators/_init-commands.ts";
import { HostState } from "../../lib/operators/handlers.ts";
import { execute } from "../../lib/operators/run.ts";
import { service } from "../../lib/operators/service.ts";
import { unit } from "../../lib/operators/unit.ts";
import type { ProbeFixture } from "./_fakes.ts";
import { makeWorld } from "./_world.ts";

const out = (name: string) => readFileSync(join(import.meta.dir, "init-output", name), "utf8");
const UNITS = "systemctl list-units --all --plain --no-legend --no-pager --full";
const FILES = "systemctl list-unit-files --plain --no-legend --no-pager --full";
const systemd: ProbeFixture = { commands: { [UNITS]: { stdout: out("list-units.txt") }, [FILES]: { stdout: out("list-unit-files.txt") } } };
const facts = (init: string) => ({ me: { env: "dev", cluster: "lab", roles: [], vars: {}, facts: { init } as never } });
const argvs = (plan: { changes: unknown[] } | undefined) => plan?.changes.map((c) => (c as { argv?: string[] }).argv?.join(" ") ?? (c as { kind: string }).kind);

describe("parsers and commands", () => {
  test("systemd listings: running, enabled, static; a not-found unit is not loaded; a unit only in the files is", () => {
    const s = parseSystemdLists(out("list-units.txt"), out("list-unit-files.txt"));
    expect(s.get("nginx.service")).toEqual({ loaded: true, running: true, enabled: true });
    expect(s.get("redis-server.service")).toEqual({ loaded: true, running: false, enabled: false });
    expect(s.get("systemd-journald.service")).toEqual({ loaded: true, running: true, enabled: undefined });
    expect(s.get("ghost.service")?.loaded).toBe(false);
    expect(s.get("postgresql.service")).toEqual({ loaded: true, running: false, enabled: false });
  });
  test("launchd: loaded and running from print, enabled from print-disabled", () => {
    expect(parseLaunchd("com.example.app", { rc: 0, stdout: out("launchctl-print.txt") }, out("launchctl-print-disabled.txt"))).toEqual({ loaded: true, running: true, enabled: true });
    expect(parseLaunchd("com.example.off", { rc: 113, stdout: "" }, out("launchctl-print-disabled.txt"))).toEqual({ loaded: false, running: false, enabled: false });
  });
  test.each([
    ["systemd", { loaded: true, running: false, enabled: false }, { running: true, enabled: true }, ["systemctl enable x.service", "systemctl start x.service"]],
    ["systemd", { loaded: true, running: true, enabled: true }, { running: false, enabled: false }, ["systemctl disable x.service", "systemctl stop x.service"]],
    ["systemd", { loaded: true, running: true, enabled: true }, { running: true, restart: true, reload: true }, ["systemctl restart x.service"]],
    ["systemd", { loaded: true, running: false, enabled: true }, { running: true, restart: true }, ["systemctl start x.service"]],
    ["systemd", { loaded: true, running: true, enabled: undefined }, { enabled: true, reload: true }, ["systemctl reload x.service"]],
    ["launchd", { loaded: false, running: false, enabled: true }, { running: true }, ["launchctl bootstrap system /Library/LaunchDaemons/x.service.plist"]],
    ["launchd", { loaded: true, running: true, enabled: true }, { running: true, restart: true }, ["launchctl kickstart -k system/x.service"]],
    ["launchd", { loaded: true, running: true, enabled: false }, { enabled: true, running: false }, ["launchctl enable system/x.service", "launchctl bootout system/x.service"]],
  ] as const)("%s, case %#: the commands from the state to the wanted one", (init, state, want, expected) => {
    expect(serviceCommands(init, "x.service", state, want).map((c) => c.argv.join(" "))).toEqual([...expected]);
  });
  test.each([["nginx", "nginx.service"], ["getty@tty1.service", "getty@tty1.service"], ["app.socket", "app.socket"]])("unitName(%s) is %s", (name, full) => {
    expect(unitName("systemd", name)).toBe(full);
  });
});

describe("service plans", () => {
  test("running and enabled already: no change, the note says so", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd") });
    const { result, plan } = await execute(w.ctx({ host: new HostState() }), service, ["nginx", { running: true, enabled: true }]);
    expect(result).toMatchObject({ rc: 0, changed: false, cmd: "service(nginx, running, enabled)" });
    expect(plan?.note).toBe("running, enabled");
  });

  test("a dry run says what it would do and runs nothing", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd"), dryRun: true });
    const { result } = await execute(w.ctx({ host: new HostState() }), service, ["redis-server", { running: true, enabled: true }]);
    expect(result.output).toBe("would enable, start redis-server.service\nnot run (dry run): systemctl enable redis-server.service\nnot run (dry run): systemctl start redis-server.service");
  });

  test("five services of one apply list the unit states once; a new apply lists them again", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd") });
    const host = new HostState();
    const ctx = w.ctx({ host });
    host.begin("apply-1");
    for (const name of ["nginx", "cron", "ssh", "systemd-journald", "nginx"]) expect((await execute(ctx, service, [name, { running: true }])).result.rc).toBe(0);
    host.begin("apply-2");
    await execute(ctx, service, ["nginx", { running: true }]);
    const asked = (ctx.probe as unknown as { asked: string[] }).asked;
    expect(asked.filter((a) => a === UNITS).length).toBe(2);
  });

  test("reloadOn: reloaded when a given result changed; not when none did", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd"), dryRun: true });
    const changed = { cmd: "render(x)", rc: 0, changed: true, elapsed: 0 };
    const same = { ...changed, changed: false };
    expect(argvs((await execute(w.ctx(), service, ["nginx", { running: true, reloadOn: [same, changed] }])).plan)).toEqual(["systemctl reload nginx.service"]);
    expect(argvs((await execute(w.ctx(), service, ["nginx", { running: true, reloadOn: same }])).plan)).toEqual([]);
  });

  test.each([
    ["an unknown unit", ["ghost", { running: true }], "systemd", "systemd knows no unit ghost.service"],
    ["a host without an init system salty drives", ["nginx", {}], "none", "no init system salty drives on this host (facts.init: none"],
    ["an option as a name", ["--now", {}], "systemd", "not a service name"],
    ["running as a string", ["nginx", { running: "yes" }], "systemd", "running must be true or false"],
  ])("%s is an error", async (_what, args, init, message) => {
    using w = await makeWorld({ probe: systemd, context: facts(init) });
    const { result } = await execute(w.ctx(), service, args as never);
    expect(result.rc).toBe(1);
    expect(result.error).toContain(message);
  });

  test("launchd: bootstrapped from its plist when not loaded", async () => {
    const probe: ProbeFixture = { commands: { "launchctl print system/com.example.off": { rc: 113 }, "launchctl print-disabled system": { stdout: out("launchctl-print-disabled.txt") } } };
    using w = await makeWorld({ probe, context: facts("launchd"), dryRun: true });
    const { plan } = await execute(w.ctx(), service, ["com.example.off", { running: true, enabled: true }]);
    expect(argvs(plan)).toEqual(["launchctl enable system/com.example.off", "launchctl bootstrap system /Library/LaunchDaemons/com.example.off.plist"]);
  });
});

describe("unit", () => {
  test("written from the fileroot (under --path), then daemon-reload; unchanged the second time", async () => {
    using w = await makeWorld({ master: { "files/app/app.service": "[Service]\nExecStart=/usr/bin/app --port <%= port %>\n" }, context: facts("systemd") });
    const ran: string[] = [];
    const host = new HostState();
    host.units = new Map();
    const ctx = w.ctx({ host, exec: async (argv) => (ran.push(argv.join(" ")), { rc: 0, output: "" }) });
    const first = await execute(ctx, unit, ["app.service", "app/app.service", { vars: { port: 8080 } }]);
    expect(first.result).toMatchObject({ rc: 0, changed: true, cmd: "unit(app.service, app/app.service)" });
    expect(readFileSync(join(w.prefix, "etc/systemd/system/app.service"), "utf8")).toBe("[Service]\nExecStart=/usr/bin/app --port 8080\n");
    expect(ran).toEqual(["systemctl daemon-reload"]);
    expect(host.units).toBeUndefined();
    const again = await execute(ctx, unit, ["app.service", "app/app.service", { vars: { port: 8080 } }]);
    expect(again.result.changed).toBe(false);
    expect(ran).toEqual(["systemctl daemon-reload"]);
  });
});
