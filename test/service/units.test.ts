import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  launchdPath,
  managerFor,
  render,
  servicePath,
  systemdWord,
  type ServiceSpec,
} from "../../lib/service/units.ts";
import { parsePlist } from "./_plist.ts";
import { tempDirForFile } from "../_temp.ts";

// systemd-analyze checks that ExecStart's executable exists: use this Bun.
const exe = process.execPath;
const agent: ServiceSpec = {
  role: "agent",
  argv: [exe, "agent", "salt.example.com:11111", "--id", "web 1", "--keyroot", "/etc/salty"],
  workingDirectory: "/",
  generator: "salty 0.1.0 (test)",
};
const master: ServiceSpec = {
  role: "master",
  argv: [exe, "master", "--keyroot", "/srv/salt/keys", "--fileroot", "/srv/salt"],
  workingDirectory: "/srv/salt",
  generator: "salty 0.1.0 (test)",
};

const dir = tempDirForFile("salty-units-");

describe("systemdWord", () => {
  test.each([
    ["plain", "/usr/local/bin/salty", "/usr/local/bin/salty"],
    ["host:port", "10.0.0.1:11111", "10.0.0.1:11111"],
    ["space", "web 1", '"web 1"'],
    ["quote", 'a"b', '"a\\"b"'],
    ["backslash", "a\\b", '"a\\\\b"'],
    ["percent specifier", "100%n", "100%%n"],
    ["dollar variable", "$HOME", "$$HOME"],
    ["empty", "", '""'],
  ])("%s", (_, word, expected) => {
    expect(systemdWord(word)).toBe(expected);
  });
});

/** Complaints of systemd-analyze about this unit file (it also checks the executable). */
async function analyze(
  name: string,
  content: string,
): Promise<{ code: number; complaints: string[] }> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const proc = Bun.spawn(["systemd-analyze", "verify", path], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const complaints = (out + err).split("\n").filter((l) => l.includes(name));
  return { code, complaints };
}

describe("systemd unit", () => {
  test.each([
    ["agent", agent, "salty-agent.service"],
    ["master", master, "salty-master.service"],
  ] as const)(
    "%s: restarts forever, runs the absolute command line, starts at boot",
    (_, spec, name) => {
      const unit = render("systemd", spec);
      const lines = unit.split("\n");
      expect(lines.filter((l) => l.startsWith("ExecStart="))).toHaveLength(1);
      expect(lines).toContain("Restart=always");
      expect(lines).toContain("RestartSec=5");
      expect(lines).toContain("WantedBy=multi-user.target");
      expect(lines).toContain(`WorkingDirectory=${spec.workingDirectory}`);
      expect(servicePath("systemd", spec.role)).toBe(`/etc/systemd/system/${name}`);
    },
  );

  test("the agent's ExecStart quotes an id with a space", () => {
    const line = render("systemd", agent)
      .split("\n")
      .find((l) => l.startsWith("ExecStart="));
    expect(line).toBe(
      `ExecStart=${exe} agent salt.example.com:11111 --id "web 1" --keyroot /etc/salty`,
    );
  });

  test.skipIf(!Bun.which("systemd-analyze")).each([
    ["agent", agent],
    ["master", master],
  ] as const)("systemd-analyze verify accepts the %s unit", async (_, spec) => {
    const { code, complaints } = await analyze(
      `salty-${spec.role}.service`,
      render("systemd", spec),
    );
    expect(complaints).toEqual([]);
    expect(code).toBe(0);
  });

  test.skipIf(!Bun.which("systemd-analyze"))(
    "systemd-analyze verify does complain about a broken unit (the check can fail)",
    async () => {
      const broken = render("systemd", agent).replace("Restart=always", "Restart=sometimes");
      const { complaints } = await analyze("salty-broken.service", broken);
      expect(complaints.join("\n")).toContain("sometimes");
    },
  );
});

describe("launchd plist", () => {
  test.each([
    ["agent", agent],
    ["master", master],
  ] as const)("%s: parses as a plist with every key launchd needs", (_, spec) => {
    const plist = parsePlist(render("launchd", spec));
    expect(plist).toEqual({
      Label: `dev.salty.${spec.role}`,
      ProgramArguments: spec.argv,
      WorkingDirectory: spec.workingDirectory,
      EnvironmentVariables: { PATH: launchdPath },
      RunAtLoad: true,
      KeepAlive: true,
      ThrottleInterval: 5,
      StandardOutPath: `/var/log/salty-${spec.role}.log`,
      StandardErrorPath: `/var/log/salty-${spec.role}.log`,
    });
    expect(servicePath("launchd", spec.role)).toBe(
      `/Library/LaunchDaemons/dev.salty.${spec.role}.plist`,
    );
  });

  test("arguments with XML's special characters come back unchanged", () => {
    const odd = {
      ...agent,
      argv: [exe, "agent", "m:1", "--id", `<a & "b">`],
      generator: "salty -- test",
    };
    const plist = parsePlist(render("launchd", odd)) as { ProgramArguments: string[] };
    expect(plist.ProgramArguments).toEqual(odd.argv);
  });

  test.skipIf(!Bun.which("python3"))("Python's plistlib reads the same document", async () => {
    const xml = render("launchd", { ...agent, argv: [...agent.argv, `<&">`] });
    const code =
      "import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))";
    const proc = Bun.spawn(["python3", "-c", code], { stdin: new Blob([xml]), stdout: "pipe" });
    const parsed = JSON.parse(await new Response(proc.stdout).text());
    expect(await proc.exited).toBe(0);
    expect(parsed).toEqual(parsePlist(xml) as object);
  });

  test.each([
    ["an unknown tag", '<plist version="1.0"><dict><key>a</key><data>x</data></dict></plist>'],
    ["an unclosed dict", '<plist version="1.0"><dict><key>a</key><true/></plist>'],
    [
      "an unknown entity",
      '<plist version="1.0"><dict><key>a</key><string>&bogus;</string></dict></plist>',
    ],
  ])("the test's reader refuses %s", (_, xml) => {
    expect(() => parsePlist(xml)).toThrow();
  });
});

describe("bad specs are refused", () => {
  test.each([
    ["a relative executable", { ...agent, argv: ["salty", "agent", "m"] }, "absolute path"],
    ["no executable", { ...agent, argv: [] }, "absolute path"],
    [
      "a newline in an argument",
      { ...agent, argv: [exe, "agent", "m\nExecStartPre=/bin/rm"] },
      "newline",
    ],
    ["a relative working directory", { ...master, workingDirectory: "srv" }, "working directory"],
  ])("%s", (_, spec, message) => {
    expect(() => render("systemd", spec)).toThrow(message);
    expect(() => render("launchd", spec)).toThrow(message);
  });

  test.each([
    ["linux", "systemd"],
    ["darwin", "launchd"],
  ])("%s uses %s", (platform, manager) => {
    expect(managerFor(platform)).toBe(manager as "systemd" | "launchd");
  });

  test("another platform has no service manager", () => {
    expect(() => managerFor("win32")).toThrow("no service manager known for win32");
  });
});
