// service() and unit(): systemd's and launchd's listings parsed from captured
// output, the commands planned from them (through a fake probe that answers
// only its fixture), unit states read once per apply, a unit written from the
// fileroot followed by daemon-reload.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseLaunchd,
  parseSystemdShow,
  serviceCommands,
  unitName,
} from "../../lib/operators/_init-commands.ts";
import { HostState } from "../../lib/operators/handlers.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { service } from "../../lib/operators/service.ts";
import { unit } from "../../lib/operators/unit.ts";
import type { ProbeFixture } from "./_fakes.ts";
import { makeWorld } from "./_world.ts";

const out = (name: string) => readFileSync(join(import.meta.dir, "init-output", name), "utf8");
const SHOW = "systemctl show -p Id,LoadState,ActiveState,UnitFileState --";
/** systemctl show's blocks for units of a table: [LoadState, ActiveState, UnitFileState]. */
const TABLE: Record<string, [string, string, string]> = {
  "nginx.service": ["loaded", "active", "enabled"],
  "cron.service": ["loaded", "active", "enabled"],
  "ssh.service": ["loaded", "active", "enabled"],
  "redis-server.service": ["loaded", "inactive", "disabled"],
  "systemd-journald.service": ["loaded", "active", "static"],
  "ghost.service": ["not-found", "inactive", ""],
};
const show = (...units: string[]) =>
  units
    .map(
      (u) =>
        `Id=${u}\nLoadState=${TABLE[u]![0]}\nActiveState=${TABLE[u]![1]}\nUnitFileState=${TABLE[u]![2]}\n`,
    )
    .join("\n");
const answers = (...sets: string[][]) =>
  Object.fromEntries(
    sets.map((units) => [`${SHOW} ${units.join(" ")}`, { stdout: show(...units) }]),
  );
const systemd: ProbeFixture = {
  commands: answers(
    ["nginx.service"],
    ["redis-server.service"],
    ["cron.service"],
    ["ssh.service"],
    ["systemd-journald.service"],
    ["ghost.service"],
  ),
};
const facts = (init: string) => ({
  me: { env: "dev", cluster: "lab", roles: [], vars: {}, facts: { init } as never },
});
const argvs = (plan: { changes: unknown[] } | undefined) =>
  plan?.changes.map(
    (c) => (c as { argv?: string[] }).argv?.join(" ") ?? (c as { kind: string }).kind,
  );

describe("parsers and commands", () => {
  test("systemctl show (captured on systemd 252): loaded, running, enabled, static; a unit with no file is not found", () => {
    const s = parseSystemdShow(out("systemctl-show.txt"));
    expect(s.get("systemd-journald.service")).toEqual({
      loaded: true,
      running: true,
      enabled: undefined,
    });
    expect(s.get("getty@tty1.service")).toEqual({ loaded: true, running: false, enabled: true });
    expect(s.get("ghost.service")?.loaded).toBe(false);
    expect(s.get("cron.service")).toEqual({ loaded: false, running: false, enabled: undefined });
    expect(parseSystemdShow(show("redis-server.service")).get("redis-server.service")).toEqual({
      loaded: true,
      running: false,
      enabled: false,
    });
  });
  test("launchd: loaded and running from print, enabled from print-disabled", () => {
    expect(
      parseLaunchd(
        "com.example.app",
        { rc: 0, stdout: out("launchctl-print.txt") },
        out("launchctl-print-disabled.txt"),
      ),
    ).toEqual({ loaded: true, running: true, enabled: true });
    expect(
      parseLaunchd("com.example.off", { rc: 113, stdout: "" }, out("launchctl-print-disabled.txt")),
    ).toEqual({ loaded: false, running: false, enabled: false });
  });
  test.each([
    [
      "systemd",
      { loaded: true, running: false, enabled: false },
      { running: true, enabled: true },
      ["systemctl enable x.service", "systemctl start x.service"],
    ],
    [
      "systemd",
      { loaded: true, running: true, enabled: true },
      { running: false, enabled: false },
      ["systemctl disable x.service", "systemctl stop x.service"],
    ],
    [
      "systemd",
      { loaded: true, running: true, enabled: true },
      { running: true, restart: true, reload: true },
      ["systemctl restart x.service"],
    ],
    [
      "systemd",
      { loaded: true, running: false, enabled: true },
      { running: true, restart: true },
      ["systemctl start x.service"],
    ],
    [
      "systemd",
      { loaded: true, running: true, enabled: undefined },
      { enabled: true, reload: true },
      ["systemctl reload x.service"],
    ],
    [
      "launchd",
      { loaded: false, running: false, enabled: true },
      { running: true },
      ["launchctl bootstrap system /Library/LaunchDaemons/x.service.plist"],
    ],
    [
      "launchd",
      { loaded: true, running: true, enabled: true },
      { running: true, restart: true },
      ["launchctl kickstart -k system/x.service"],
    ],
    [
      "launchd",
      { loaded: true, running: true, enabled: false },
      { enabled: true, running: false },
      ["launchctl enable system/x.service", "launchctl bootout system/x.service"],
    ],
  ] as const)(
    "%s, case %#: the commands from the state to the wanted one",
    (init, state, want, expected) => {
      expect(serviceCommands(init, "x.service", state, want).map((c) => c.argv.join(" "))).toEqual([
        ...expected,
      ]);
    },
  );
  test.each([
    ["nginx", "nginx.service"],
    ["getty@tty1.service", "getty@tty1.service"],
    ["app.socket", "app.socket"],
  ])("unitName(%s) is %s", (name, full) => {
    expect(unitName("systemd", name)).toBe(full);
  });
});

describe("service plans", () => {
  test("running and enabled already: no change, the note says so", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd") });
    const { result, plan } = await callOperator(w.ctx({ host: new HostState() }), service, [
      "nginx",
      { running: true, enabled: true },
    ]);
    expect(result).toMatchObject({
      rc: 0,
      changed: false,
      cmd: "service(nginx, running, enabled)",
    });
    expect(plan?.note).toBe("running, enabled");
  });

  test("a dry run says what it would do and runs nothing", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd"), dryRun: true });
    const { result } = await callOperator(w.ctx({ host: new HostState() }), service, [
      "redis-server",
      { running: true, enabled: true },
    ]);
    expect(result.output).toBe(
      "would enable, start redis-server.service\nnot run (dry run): systemctl enable redis-server.service\nnot run (dry run): systemctl start redis-server.service",
    );
  });

  test("unit states are asked once per apply: the units the agent managed before, in one systemctl show", async () => {
    using w = await makeWorld({
      probe: {
        commands: answers(
          ["nginx.service"],
          ["cron.service"],
          ["ssh.service"],
          ["nginx.service", "cron.service", "ssh.service"],
          ["ssh.service", "nginx.service", "cron.service"],
        ),
      },
      context: facts("systemd"),
    });
    const host = new HostState();
    const ctx = w.ctx({ host });
    const asked = () =>
      (ctx.probe as unknown as { asked: string[] }).asked.filter((a) => a.startsWith(SHOW));
    host.begin("apply-1");
    for (const name of ["nginx", "cron", "ssh", "nginx"])
      expect((await callOperator(ctx, service, [name, { running: true }])).result.rc).toBe(0);
    expect(asked().length).toBe(3);
    host.begin("apply-2");
    for (const name of ["nginx", "cron", "ssh", "nginx", "cron"])
      expect((await callOperator(ctx, service, [name, { running: true }])).result.rc).toBe(0);
    expect(asked().slice(3)).toEqual([`${SHOW} nginx.service cron.service ssh.service`]);
    host.begin("apply-3");
    await callOperator(ctx, service, ["ssh", { running: true }]);
    expect(asked().slice(4)).toEqual([`${SHOW} ssh.service nginx.service cron.service`]);
  });

  test("reloadOn: reloaded when a given result changed; not when none did", async () => {
    using w = await makeWorld({ probe: systemd, context: facts("systemd"), dryRun: true });
    const changed = { cmd: "render(x)", rc: 0, changed: true, elapsed: 0 };
    const same = { ...changed, changed: false };
    expect(
      argvs(
        (
          await callOperator(w.ctx(), service, [
            "nginx",
            { running: true, reloadOn: [same, changed] },
          ])
        ).plan,
      ),
    ).toEqual(["systemctl reload nginx.service"]);
    expect(
      argvs(
        (await callOperator(w.ctx(), service, ["nginx", { running: true, reloadOn: same }])).plan,
      ),
    ).toEqual([]);
  });

  test.each([
    [
      "an unknown unit",
      ["ghost", { running: true }],
      "systemd",
      "systemd knows no unit ghost.service",
    ],
    [
      "a host without an init system salty drives",
      ["nginx", {}],
      "none",
      "no init system salty drives on this host (facts.init: none",
    ],
    ["an option as a name", ["--now", {}], "systemd", "not a service name"],
    [
      "running as a string",
      ["nginx", { running: "yes" }],
      "systemd",
      "running must be true or false",
    ],
  ])("%s is an error", async (_what, args, init, message) => {
    using w = await makeWorld({ probe: systemd, context: facts(init) });
    const { result } = await callOperator(w.ctx(), service, args as never);
    expect(result.rc).toBe(1);
    expect(result.error).toContain(message);
  });

  test("launchd: bootstrapped from its plist when not loaded", async () => {
    const probe: ProbeFixture = {
      commands: {
        "launchctl print system/com.example.off": { rc: 113 },
        "launchctl print-disabled system": { stdout: out("launchctl-print-disabled.txt") },
      },
    };
    using w = await makeWorld({ probe, context: facts("launchd"), dryRun: true });
    const { plan } = await callOperator(w.ctx(), service, [
      "com.example.off",
      { running: true, enabled: true },
    ]);
    expect(argvs(plan)).toEqual([
      "launchctl enable system/com.example.off",
      "launchctl bootstrap system /Library/LaunchDaemons/com.example.off.plist",
    ]);
  });
});

describe("unit", () => {
  test("written from the fileroot (under --path), then daemon-reload; unchanged the second time", async () => {
    using w = await makeWorld({
      master: { "files/app/app.service": "[Service]\nExecStart=/usr/bin/app --port <%= port %>\n" },
      context: facts("systemd"),
    });
    const ran: string[] = [];
    const host = new HostState();
    host.units = new Map();
    const ctx = w.ctx({
      host,
      exec: async (argv) => (ran.push(argv.join(" ")), { rc: 0, output: "" }),
    });
    const first = await callOperator(ctx, unit, [
      "app.service",
      "app/app.service",
      { vars: { port: 8080 } },
    ]);
    expect(first.result).toMatchObject({
      rc: 0,
      changed: true,
      cmd: "unit(app.service, app/app.service)",
    });
    expect(readFileSync(join(w.prefix, "etc/systemd/system/app.service"), "utf8")).toBe(
      "[Service]\nExecStart=/usr/bin/app --port 8080\n",
    );
    expect(ran).toEqual(["systemctl daemon-reload"]);
    expect(host.units).toBeUndefined();
    const again = await callOperator(ctx, unit, [
      "app.service",
      "app/app.service",
      { vars: { port: 8080 } },
    ]);
    expect(again.result.changed).toBe(false);
    expect(ran).toEqual(["systemctl daemon-reload"]);
  });
});
