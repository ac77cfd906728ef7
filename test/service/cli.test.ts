// `salty service` run from source, in-process (test/_cli.ts): --print writes
// nothing, --root keeps every write inside a temp dir and starts nothing.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { managerFor, servicePath } from "../../lib/service/units.ts";
import { MAIN as main, cli } from "../_cli.ts";
import { tempDirForFile } from "../_temp.ts";

const manager = managerFor(process.platform);
// The real path: the command resolves relative directories against its cwd.
const dir = realpathSync(tempDirForFile("salty-svc-cli-"));

const salty = (...args: string[]) =>
  cli(args, { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });

describe("salty service", () => {
  test("install agent --print shows the unit, says it runs from source, writes nothing", async () => {
    const live = servicePath(manager, "agent");
    const before = existsSync(live);
    const r = await salty(
      "service",
      "install",
      "agent",
      "10.0.0.1:11111",
      "--id",
      "web 1",
      "--print",
    );
    expect(r.stderr).toBe(
      `salty: running from source: the service will run ${process.execPath} ${main}; install the compiled binary on real hosts\n` +
        `salty: would write ${live}\n`,
    );
    if (manager === "systemd") {
      expect(r.stdout).toContain(
        `\nExecStart=${process.execPath} ${main} agent 10.0.0.1:11111 --id "web 1" --keyroot /etc/salty\n`,
      );
    } else {
      expect(r.stdout).toContain("<string>10.0.0.1:11111</string>");
    }
    expect(r.code).toBe(0);
    expect(existsSync(live)).toBe(before);
  });

  test("install agent with several masters and --failover passes both through (issue 22)", async () => {
    const r = await salty(
      "service",
      "install",
      "agent",
      "m1.example:11111,m2.example",
      "--failover",
      "--print",
    );
    expect(r.code).toBe(0);
    if (manager === "systemd")
      expect(r.stdout).toContain(
        ` agent m1.example:11111,m2.example --failover --keyroot /etc/salty\n`,
      );
    else expect(r.stdout).toContain("<string>m1.example:11111,m2.example</string>");
    const bad = await salty("service", "install", "agent", "m1.example,m2:99999", "--print");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("or several as M1[:PORT],M2[:PORT]");
  });

  test("install master --root writes under the root with absolute directories, then uninstall removes it", async () => {
    const root = join(dir, "root");
    const file = join(root, servicePath(manager, "master"));
    const r = await salty(
      "service",
      "install",
      "master",
      "--root",
      root,
      "--fileroot",
      "site",
      "--bind",
      "127.0.0.1:4000",
    );
    expect(r.stdout).toStartWith(`wrote ${file}\nnot started: `);
    expect(r.code).toBe(0);
    const unit = readFileSync(file, "utf8");
    expect(unit).toContain(
      `master --bind 127.0.0.1:4000 --keyroot ${join(dir, "keys")} --fileroot ${join(dir, "site")}`,
    );
    if (manager === "systemd") expect(unit).toContain(`\nWorkingDirectory=${join(dir, "site")}\n`);

    const again = await salty(
      "service",
      "install",
      "master",
      "--root",
      root,
      "--fileroot",
      "site",
      "--bind",
      "127.0.0.1:4000",
    );
    expect(again.stdout).toStartWith(`unchanged ${file}\n`);

    const removed = await salty("service", "uninstall", "master", "--root", root);
    expect({ code: removed.code, stdout: removed.stdout }).toEqual({
      code: 0,
      stdout: `removed ${file}\n`,
    });
    expect(existsSync(file)).toBe(false);

    const none = await salty("service", "uninstall", "master", "--root", root);
    expect({ code: none.code, stdout: none.stdout, stderr: none.stderr }).toEqual({
      code: 1,
      stdout: "",
      stderr: `salty: no master service is installed: ${file} does not exist\n`,
    });
  });

  test.each([
    ["no master address", ["install", "agent", "--print"], "MASTER"],
    [
      "a bad master address",
      ["install", "agent", "salt:99999", "--print"],
      "the agent needs its master as MASTER[:PORT]",
    ],
    ["an unknown option", ["install", "agent", "salt", "--bogus"], "unknown option --bogus"],
    [
      "an unknown role",
      ["uninstall", "minion", "--root", dir],
      'service uninstall takes agent, master or pull, not "minion"',
    ],
  ])("%s is a usage error (exit 2), nothing written", async (_, args, message) => {
    const r = await salty("service", ...args);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(2);
  });
});
