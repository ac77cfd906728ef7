// pkg(): the parsers on captured output of apt, dnf, apk and brew, and the
// plan each backend makes from it (one command per call), through a fake
// probe that answers only its fixture and an exec that records what it runs.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseApkInfo,
  parseApkVersion,
  parseAptPolicy,
  parseBrewList,
  parseBrewOutdated,
  parseDnfUpgrades,
  parseDpkgQuery,
  parseRpmQuery,
  parseAge,
} from "../../lib/operators/_pkg-backends.ts";
import { pkg } from "../../lib/operators/pkg.ts";
import { callOperator } from "../../lib/operators/call.ts";
import type { Exec } from "../../lib/sys/types.ts";
import { makeWorld } from "./_world.ts";
import type { ProbeFixture } from "./_fakes.ts";

const out = (name: string) => readFileSync(join(import.meta.dir, "pkg-output", name), "utf8");
const DPKG = "dpkg-query -W -f ${Package}\t${db:Status-Status}\t${Version}\n";
const RPM = "rpm -qa --qf %{NAME}\t%{VERSION}-%{RELEASE}\n";
const APT =
  "apt-get install -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
const facts = (pkg_manager: string) => ({
  me: { env: "dev", cluster: "lab", roles: [], vars: {}, facts: { pkg_manager } as never },
});

/** An exec that records each command and may answer it. */
function recorder(
  answer: (argv: string[]) => { rc: number; output: string } = () => ({ rc: 0, output: "" }),
): Exec & { ran: string[] } {
  const ran: string[] = [];
  const exec = (async (argv: string[]) => (ran.push(argv.join(" ")), answer(argv))) as Exec & {
    ran: string[];
  };
  exec.ran = ran;
  return exec;
}

async function world(manager: string, probe: ProbeFixture, dryRun = false) {
  return makeWorld({ probe, context: facts(manager), dryRun });
}

describe("parsers of captured output", () => {
  test("dpkg-query: installed packages only (a config-files leftover is not installed)", () => {
    const set = parseDpkgQuery(out("dpkg-query.txt"));
    expect(set.get("adduser")).toBe("3.134");
    expect(set.has("bash")).toBe(true);
    expect(set.has("hello")).toBe(false);
  });
  test("apt-cache policy: a candidate newer than the installed version; none for one already at it", () => {
    expect(parseAptPolicy(out("apt-cache-policy.txt"), ["tree", "bash"])).toEqual(
      new Map([
        ["tree", "2.1.0-1"],
        ["bash", "5.2.15-2+b13"],
      ]),
    );
    expect(parseAptPolicy("x:\n  Installed: 1.0\n  Candidate: 1.0\n", ["x"]).size).toBe(0);
    expect(parseAptPolicy("x:\n  Installed: (none)\n  Candidate: (none)\n", ["x"]).size).toBe(0);
  });
  test("rpm -qa: names and version-release, the gpg-pubkey pseudo-packages left out", () => {
    const set = parseRpmQuery(out("rpm-qa.txt"));
    expect(set.get("curl")).toBe("8.6.0-10.fc40");
    expect(set.has("gpg-pubkey")).toBe(false);
  });
  test("dnf list --upgrades, apk version, brew outdated: the newer versions of the named packages", () => {
    expect(parseDnfUpgrades(out("dnf-list-upgrades.txt"), ["curl", "bash"])).toEqual(
      new Map([["curl", "8.6.0-11.fc40"]]),
    );
    expect(parseApkVersion(out("apk-version.txt"), ["curl"])).toEqual(
      new Map([["curl", "8.9.1-r0"]]),
    );
    expect(parseBrewOutdated(out("brew-outdated.txt"), ["tree"])).toEqual(
      new Map([["tree", "2.1.3"]]),
    );
  });
  test("apk info -v and brew list --versions: name and version split right (hyphens and @ in names)", () => {
    expect(parseApkInfo(out("apk-info-v.txt")).get("alpine-baselayout")).toBe("3.6.5-r0");
    expect(parseBrewList(out("brew-list-versions.txt")).get("openssl@3")).toBe("3.3.2");
  });
  test.each([
    ["1h", 3600e3],
    ["30m", 1800e3],
    ["2d", 172800e3],
    [90, 90e3],
    [false, false],
  ] as const)("update %p is %p ms", (v, ms) => {
    expect(parseAge(v)).toBe(ms);
  });
});

describe("pkg plans", () => {
  test("apt, all installed: no change, the note says so, nothing run", async () => {
    using w = await world("apt", { commands: { [DPKG]: { stdout: out("dpkg-query.txt") } } });
    const exec = recorder();
    const { result, plan } = await callOperator(w.ctx({ exec }), pkg, [["adduser", "bash"]]);
    expect(result).toMatchObject({ rc: 0, changed: false, cmd: "pkg(adduser, bash)" });
    expect(plan?.note).toBe("installed");
    expect(exec.ran).toEqual([]);
  });

  test("apt: one install command for every missing package, non-interactive, the lists refreshed when older than update; the output names the versions", async () => {
    const fx: ProbeFixture = {
      commands: {
        [DPKG]: { stdout: out("dpkg-query.txt") },
        "apt-cache policy tree hello": {
          stdout:
            "tree:\n  Installed: (none)\n  Candidate: 2.1.0-1\nhello:\n  Installed: (none)\n  Candidate: 2.10-3\n",
        },
      },
    };
    using w = await world("apt", fx);
    const exec = recorder((argv) => {
      if (argv[1] === "install")
        fx.commands![DPKG] = {
          stdout: `${out("dpkg-query.txt")}tree\tinstalled\t2.1.0-1\nhello\tinstalled\t2.10-3\n`,
        };
      return { rc: 0, output: "" };
    });
    let env: Record<string, string> | undefined;
    const spy: Exec = (argv, o) => ((env = o?.env), exec(argv, o));
    const { result, plan } = await callOperator(w.ctx({ exec: spy }), pkg, [
      ["tree", "bash", "hello"],
      { update: 0 },
    ]);
    expect(plan?.changes.map((c) => (c.kind === "exec" ? c.argv.join(" ") : c.kind))).toEqual([
      "apt-get update -q -o DPkg::Lock::Timeout=120",
      `${APT} tree hello`,
    ]);
    expect(env).toMatchObject({ DEBIAN_FRONTEND: "noninteractive" });
    expect(result).toMatchObject({
      rc: 0,
      changed: true,
      output: "installed tree 2.1.0-1\ninstalled hello 2.10-3",
    });
  });

  test("apt, update: false: no refresh; a dry run says what it would install, with the candidate version, and runs nothing", async () => {
    using w = await world(
      "apt",
      {
        commands: {
          [DPKG]: { stdout: out("dpkg-query.txt") },
          "apt-cache policy tree": { stdout: out("apt-cache-policy.txt") },
        },
      },
      true,
    );
    const exec = recorder();
    const { result } = await callOperator(w.ctx({ exec }), pkg, [["tree"], { update: false }]);
    expect(result.changed).toBe(true);
    expect(result.output).toBe(`would install tree 2.1.0-1\nnot run (dry run): ${APT} tree`);
    expect(exec.ran).toEqual([]);
  });

  test("apt latest: only the installed ones with a newer candidate are upgraded, missing ones installed", async () => {
    using w = await world(
      "apt",
      {
        commands: {
          [DPKG]: { stdout: out("dpkg-query.txt") },
          "apt-cache policy bash adduser": { stdout: out("apt-cache-policy.txt") },
          "apt-cache policy tree": { stdout: out("apt-cache-policy.txt") },
        },
      },
      true,
    );
    const { result } = await callOperator(w.ctx(), pkg, [
      ["bash", "adduser", "tree"],
      { state: "latest", update: false },
    ]);
    expect(result.output?.split("\n")[0]).toBe(
      "would install tree 2.1.0-1; upgrade bash 5.2.15-2+b8 -> 5.2.15-2+b13",
    );
  });

  test("apt absent: removes the installed ones, with their versions; absent ones are fine", async () => {
    using w = await world("apt", { commands: { [DPKG]: { stdout: out("dpkg-query.txt") } } });
    const exec = recorder();
    const { result, plan } = await callOperator(w.ctx({ exec }), pkg, [
      ["adduser", "hello"],
      { state: "absent" },
    ]);
    expect(plan?.summary).toBe("remove adduser 3.134");
    expect(exec.ran).toEqual([
      "apt-get remove -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold adduser",
    ]);
    expect(result.output).toBe("removed adduser 3.134");
  });

  test("apt: a dpkg lock held past the wait is one clear error", async () => {
    using w = await world("apt", {
      commands: {
        [DPKG]: { stdout: out("dpkg-query.txt") },
        "apt-cache policy tree": { stdout: out("apt-cache-policy.txt") },
      },
    });
    const exec = recorder(() => ({
      rc: 100,
      output:
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n",
    }));
    const { result } = await callOperator(w.ctx({ exec }), pkg, [["tree"], { update: false }]);
    expect(result.rc).toBe(1);
    expect(result.error).toBe(
      "pkg(tree): another apt holds the package lock (waited 120s): E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?",
    );
  });

  test("the installed set is read once and kept while the package database is unchanged", async () => {
    using w = await world("apt", { commands: { [DPKG]: { stdout: out("dpkg-query.txt") } } });
    const ctx = w.ctx();
    for (let i = 0; i < 20; i++) await callOperator(ctx, pkg, [["bash"]]);
    const asked = (ctx.probe as unknown as { asked: string[] }).asked;
    expect(asked.filter((a) => a === DPKG).length).toBe(1);
  });

  test("dnf: rpm's installed set, one install and one upgrade command", async () => {
    using w = await world("dnf", {
      commands: {
        [RPM]: { stdout: out("rpm-qa.txt") },
        "dnf -q list --upgrades curl nginx": { rc: 100, stdout: out("dnf-list-upgrades.txt") },
      },
    });
    const exec = recorder();
    await callOperator(w.ctx({ exec }), pkg, [["curl", "nginx", "tree"], { state: "latest" }]);
    expect(exec.ran.slice(0, 2)).toEqual(["dnf install -y tree", "dnf upgrade -y curl"]);
  });

  test("apk: add with a bounded wait for the lock; del for absent", async () => {
    using w = await world(
      "apk",
      { commands: { "apk info -v": { stdout: out("apk-info-v.txt") } } },
      true,
    );
    const add = await callOperator(w.ctx(), pkg, [["curl", "tree"]]);
    expect(add.plan?.changes).toMatchObject([
      { kind: "exec", argv: ["apk", "add", "--wait", "120", "tree"] },
    ]);
    const del = await callOperator(w.ctx(), pkg, [["musl-dev", "curl"], { state: "absent" }]);
    expect(del.plan?.summary).toBe("remove curl 8.9.0-r0");
  });

  test("brew: as the owner of Homebrew's prefix when the agent is root", async () => {
    const probe: ProbeFixture = {
      commands: {
        "stat -f %Su /opt/homebrew/Cellar": { stdout: "ada\n" },
        "sudo -u ada -H -- brew list --versions": { stdout: out("brew-list-versions.txt") },
      },
    };
    using w = await world("brew", probe, true);
    const self = { name: "root", uid: 0, gid: 0 };
    const { plan } = await callOperator(
      w.ctx({ users: { ...w.ctx().users, self: async () => self } }),
      pkg,
      [["tree", "jq"]],
    );
    expect(plan?.changes).toMatchObject([
      {
        kind: "exec",
        argv: ["sudo", "-u", "ada", "-H", "--", "brew", "install", "jq"],
        env: { HOMEBREW_NO_AUTO_UPDATE: "1" },
      },
    ]);
  });

  test.each([
    [
      "no known package manager",
      [["tree"]],
      "none",
      "no package manager salty drives on this host (facts.pkg_manager: none",
    ],
    ["a command as a name", [["tree; reboot"]], "apt", 'not a package name: "tree; reboot"'],
    ["an option as a name", [["-oAPT::x"]], "apt", "not a package name"],
    ["no names", [[]], "apt", "non-empty list"],
    [
      "an unknown state",
      [["tree"], { state: "installed" }],
      "apt",
      'state must be "present", "latest" or "absent"',
    ],
    ["an unknown age", [["tree"], { update: "soon" }], "apt", "update must be false"],
  ])("%s is an error", async (_what, args, manager, message) => {
    using w = await world(manager, { commands: { [DPKG]: { stdout: "" } } });
    const { result } = await callOperator(w.ctx(), pkg, args as never);
    expect(result.rc).toBe(1);
    expect(result.error).toContain(message);
  });
});
