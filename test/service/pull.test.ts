// `salty service install pull`: the oneshot unit and its timer (systemd), the
// plist with StartInterval (launchd), pure; then the real entry point writing
// both under --root with the pull's options passed through, and removing them.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { managerFor, serviceFiles, type ServiceSpec } from "../../lib/service/units.ts";
import { parsePlist } from "./_plist.ts";
import { splayOffset } from "../../lib/agent/schedule.ts";
import { cli } from "../_cli.ts";
import { tempDirForFile } from "../_temp.ts";

const exe = process.execPath;
const pull: ServiceSpec = {
  role: "pull",
  argv: [
    exe,
    "pull",
    "--repo",
    "https://git.example.com/deploy.git",
    "--keyroot",
    "/etc/salty",
    "--state",
    "/var/lib/salty",
  ],
  workingDirectory: "/",
  generator: "salty 0.1.0 (test)",
  everySec: 900,
};
const dir = realpathSync(tempDirForFile("salty-svc-pull-"));

describe("pull service files", () => {
  test("systemd: a oneshot unit and a timer every 900 s", () => {
    const [unit, timer, ...rest] = serviceFiles("systemd", pull);
    expect(rest).toEqual([]);
    expect(unit!.path).toBe("/etc/systemd/system/salty-pull.service");
    expect(unit!.content).toContain("\nType=oneshot\n");
    expect(unit!.content).toContain(
      `\nExecStart=${exe} pull --repo https://git.example.com/deploy.git --keyroot /etc/salty --state /var/lib/salty\n`,
    );
    expect(unit!.content).not.toContain("Restart=");
    expect(timer!.path).toBe("/etc/systemd/system/salty-pull.timer");
    expect(timer!.content.split("\n")).toEqual(
      expect.arrayContaining([
        "[Timer]",
        "OnBootSec=60",
        "OnUnitActiveSec=900",
        "Unit=salty-pull.service",
        "WantedBy=timers.target",
      ]),
    );
  });

  test("launchd: StartInterval, no KeepAlive", () => {
    const [plist, ...rest] = serviceFiles("launchd", pull);
    expect(rest).toEqual([]);
    expect(plist!.path).toBe("/Library/LaunchDaemons/dev.salty.pull.plist");
    const parsed = parsePlist(plist!.content) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      Label: "dev.salty.pull",
      ProgramArguments: pull.argv,
      StartInterval: 900,
      RunAtLoad: true,
    });
    expect(parsed.KeepAlive).toBeUndefined();
  });

  test("a pull without its period is refused", () => {
    expect(() => serviceFiles("systemd", { ...pull, everySec: undefined } as ServiceSpec)).toThrow(
      "the pull service needs its period in whole seconds",
    );
  });

  test.skipIf(!Bun.which("systemd-analyze"))(
    "systemd-analyze verify accepts the unit and the timer",
    async () => {
      for (const f of serviceFiles("systemd", pull))
        writeFileSync(join(dir, f.path.split("/").pop()!), f.content);
      const proc = Bun.spawn(
        [
          "systemd-analyze",
          "verify",
          join(dir, "salty-pull.service"),
          join(dir, "salty-pull.timer"),
        ],
        { stdout: "pipe", stderr: "pipe" },
      );
      const [out, err] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect((out + err).split("\n").filter((l) => l.includes("salty-pull"))).toEqual([]);
    },
  );
});

const salty = (...args: string[]) =>
  cli(args, { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });

test("service install pull --root writes the service (and timer) with the pull's options, uninstall removes them", async () => {
  const root = join(dir, "root");
  const manager = managerFor(process.platform);
  const r = await salty(
    "service",
    "install",
    "pull",
    "--root",
    root,
    "--repo",
    "deploy.git",
    "--every",
    "15m",
    "--report",
    "salt.example.com",
    "--id",
    "web1",
  );
  expect(r.code).toBe(0);
  const files =
    manager === "systemd"
      ? ["/etc/systemd/system/salty-pull.service", "/etc/systemd/system/salty-pull.timer"]
      : ["/Library/LaunchDaemons/dev.salty.pull.plist"];
  expect(r.stdout).toStartWith(
    files.map((f) => `wrote ${join(root, f)}\n`).join("") + "not started: ",
  );
  const first = readFileSync(join(root, files[0]!), "utf8");
  const words = [
    "pull",
    "--repo",
    join(dir, "deploy.git"),
    "--id",
    "web1",
    "--keyroot",
    "/etc/salty",
    "--state",
    "/var/lib/salty",
    "--report",
    "salt.example.com",
  ];
  if (manager === "systemd") {
    expect(first).toContain(` ${words.join(" ")}\n`);
    const timer = readFileSync(join(root, files[1]!), "utf8");
    expect(timer).toContain("\nOnUnitActiveSec=900\n");
    // Its first run after boot: a minute plus web1's own offset within the period.
    expect(timer).toContain(
      `\nOnBootSec=${60 + Math.floor(splayOffset("web1", 900_000) / 1000)}\n`,
    );
  } else {
    expect(
      (parsePlist(first) as { ProgramArguments: string[] }).ProgramArguments.slice(-words.length),
    ).toEqual(words);
  }
  const missing = await salty("service", "install", "pull", "--root", root);
  expect([missing.code, missing.stderr]).toEqual([2, "salty: salty pull needs --repo URL|PATH\n"]);
  const removed = await salty("service", "uninstall", "pull", "--root", root);
  expect(removed.code).toBe(0);
  for (const f of files) expect(existsSync(join(root, f))).toBe(false);
});
