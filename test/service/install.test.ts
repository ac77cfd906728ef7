import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  installService,
  uninstallService,
  type Host,
  type Runner,
} from "../../lib/service/install.ts";
import { render, type ServiceManager, type ServiceSpec } from "../../lib/service/units.ts";
import { tempDirs } from "../_temp.ts";

const spec: ServiceSpec = {
  role: "agent",
  argv: ["/usr/local/bin/salty", "agent", "m:11111"],
  workingDirectory: "/",
  generator: "test",
};

const temp = tempDirs("salty-svc-");

/** A runner that answers only the commands it was given (exit status, output), and records the calls. */
function fakeRunner(answers: Record<string, [number, string?]>): Runner & { calls: string[] } {
  const calls: string[] = [];
  const run = async (argv: string[]) => {
    const line = argv.join(" ");
    const answer = answers[line];
    if (!answer) throw new Error(`unexpected command: ${line}`);
    calls.push(line);
    return { code: answer[0], output: answer[1] ?? "" };
  };
  return Object.assign(run, { calls });
}

function host(manager: ServiceManager, run?: Runner, managerRunning = true): Host {
  const root = temp();
  return { root, manager, run, managerRunning };
}

const unitFile = (h: Host) => join(h.root, "etc/systemd/system/salty-agent.service");

describe("install", () => {
  test("without a runner the file is written (0644, nothing else in its directory) and nothing is started", async () => {
    const h = host("systemd");
    const r = await installService(h, spec);
    expect(r).toEqual({
      path: unitFile(h),
      changed: true,
      ran: [],
      note: "not started: systemctl daemon-reload && systemctl enable --now salty-agent.service",
    });
    expect(readFileSync(unitFile(h), "utf8")).toBe(render("systemd", spec));
    expect(statSync(unitFile(h)).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(h.root, "etc/systemd/system"))).toEqual(["salty-agent.service"]);
  });

  test("under a running systemd: reload, enable, restart; a reinstall changes nothing but restarts", async () => {
    const run = fakeRunner({
      "systemctl daemon-reload": [0],
      "systemctl enable salty-agent.service": [0],
      "systemctl restart salty-agent.service": [0],
    });
    const h = host("systemd", run);
    const steps = [
      "systemctl daemon-reload",
      "systemctl enable salty-agent.service",
      "systemctl restart salty-agent.service",
    ];
    expect(await installService(h, spec)).toEqual({
      path: unitFile(h),
      changed: true,
      ran: steps,
      note: undefined,
    });
    expect((await installService(h, spec)).changed).toBe(false);
    expect(run.calls).toEqual([...steps, ...steps]);
  });

  test("systemd installed but not running (a chroot, a container): enabled for the next boot only", async () => {
    const run = fakeRunner({ "systemctl enable salty-agent.service": [0] });
    const r = await installService(host("systemd", run, false), spec);
    expect(r.ran).toEqual(["systemctl enable salty-agent.service"]);
    expect(r.note).toBe("systemd is not running here: enabled for the next boot, not started");
  });

  test("launchd: a service not loaded yet (bootout fails) is bootstrapped", async () => {
    const h = host("launchd");
    const path = join(h.root, "Library/LaunchDaemons/dev.salty.agent.plist");
    const run = fakeRunner({
      "launchctl bootout system/dev.salty.agent": [3, "Boot-out failed: 3: No such process"],
      [`launchctl bootstrap system ${path}`]: [0],
    });
    const r = await installService({ ...h, run }, spec);
    expect(r.ran).toEqual([
      "launchctl bootout system/dev.salty.agent",
      `launchctl bootstrap system ${path}`,
    ]);
    expect(readFileSync(path, "utf8")).toBe(render("launchd", spec));
  });

  test("a failing start is an error naming the command and its output; the file stays for inspection", async () => {
    const run = fakeRunner({
      "systemctl daemon-reload": [0],
      "systemctl enable salty-agent.service": [0],
      "systemctl restart salty-agent.service": [
        1,
        "Job for salty-agent.service failed.\nSee journalctl",
      ],
    });
    const h = host("systemd", run);
    const err = await installService(h, spec).catch((e) => e);
    expect(err.code).toBe("E_SERVICE_MANAGER");
    expect(err.message).toBe(
      "`systemctl restart salty-agent.service` failed (exit 1): Job for salty-agent.service failed.",
    );
    expect(existsSync(unitFile(h))).toBe(true);
  });

  test("a bad spec writes nothing", async () => {
    const h = host("systemd");
    await expect(installService(h, { ...spec, argv: ["salty"] })).rejects.toThrow("absolute path");
    expect(existsSync(join(h.root, "etc"))).toBe(false);
  });
});

describe("uninstall", () => {
  test("under a running systemd: disable --now, remove, reload", async () => {
    const h = host("systemd");
    await installService(h, spec);
    const run = fakeRunner({
      "systemctl disable --now salty-agent.service": [0],
      "systemctl daemon-reload": [0],
    });
    const r = await uninstallService({ ...h, run }, "agent");
    expect(r.ran).toEqual([
      "systemctl disable --now salty-agent.service",
      "systemctl daemon-reload",
    ]);
    expect(existsSync(unitFile(h))).toBe(false);
  });

  test("launchd: bootout, then the plist is removed", async () => {
    const h = host("launchd");
    await installService(h, spec);
    const run = fakeRunner({ "launchctl bootout system/dev.salty.agent": [0] });
    expect((await uninstallService({ ...h, run }, "agent")).ran).toEqual([
      "launchctl bootout system/dev.salty.agent",
    ]);
    expect(existsSync(join(h.root, "Library/LaunchDaemons/dev.salty.agent.plist"))).toBe(false);
  });

  test("nothing installed: a clear error and no command runs", async () => {
    const run = fakeRunner({});
    const h = host("systemd", run);
    const err = await uninstallService(h, "master").catch((e) => e);
    expect(err.code).toBe("E_NOT_INSTALLED");
    expect(err.message).toBe(
      `no master service is installed: ${join(h.root, "etc/systemd/system/salty-master.service")} does not exist`,
    );
    expect(run.calls).toEqual([]);
  });

  test("a failing disable keeps the file", async () => {
    const h = host("systemd");
    await installService(h, spec);
    const run = fakeRunner({ "systemctl disable --now salty-agent.service": [1, "Access denied"] });
    await expect(uninstallService({ ...h, run }, "agent")).rejects.toThrow("Access denied");
    expect(existsSync(unitFile(h))).toBe(true);
  });
});
