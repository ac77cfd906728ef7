// The Probe port: the real one runs read-only commands without a shell, in the
// C locale, keeps stdout and stderr apart, turns a missing program into rc 127
// and a hang into an error; it never passes the crypto password on. The fake
// answers only what its fixture holds.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { realProbe } from "../../lib/sys/probe.ts";
import { fakeProbe } from "../operators/_fakes.ts";
import { tempDirs } from "../_temp.ts";

const temp = tempDirs("salty-probe-");

describe("realProbe", () => {
  const saved = { PASSWORD: process.env.PASSWORD, SALTY_PASSWORD: process.env.SALTY_PASSWORD };
  afterEach(() => restoreEnv(saved));

  test("rc, stdout and stderr apart; a non-zero rc is an answer, not an error", async () => {
    expect(await realProbe.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])).toEqual({
      rc: 3,
      stdout: "out\n",
      stderr: "err\n",
    });
  });

  test("no shell: arguments reach the program as they are", async () => {
    const got = await realProbe.run(["printf", "%s|", "a b", "$HOME", "; id"]);
    expect(got.stdout).toBe("a b|$HOME|; id|");
  });

  test("the C locale, and never the crypto password", async () => {
    process.env.PASSWORD = "pw-1";
    process.env.SALTY_PASSWORD = "pw-2";
    const got = await realProbe.run(["/usr/bin/env"]);
    expect(got.stdout).toContain("LC_ALL=C\n");
    expect(got.stdout).not.toContain("pw-1");
    expect(got.stdout).not.toContain("pw-2");
  });

  test("a missing program is rc 127 with the reason", async () => {
    const got = await realProbe.run(["/nonexistent/dpkg-query", "-W"]);
    expect(got.rc).toBe(127);
    expect(got.stderr).toContain("cannot run /nonexistent/dpkg-query");
  });

  test("a probe that hangs is killed at its timeout and fails naming the command", async () => {
    await expect(realProbe.run(["sleep", "30"], { timeoutMs: 100 })).rejects.toThrow(
      "sleep 30: no answer after 0.1s",
    );
  });

  test("files: text, or undefined when absent", async () => {
    const dir = temp();
    writeFileSync(join(dir, "status"), "Package: tree\n");
    expect(await realProbe.read(join(dir, "status"))).toBe("Package: tree\n");
    expect(await realProbe.read(join(dir, "nothing"))).toBeUndefined();
  });
});

describe("fakeProbe", () => {
  test("answers what the fixture holds, records what it was asked, throws on anything else", async () => {
    const p = fakeProbe({
      commands: { "systemctl is-active nginx": { rc: 3, stdout: "inactive\n" } },
      files: { "/etc/os-release": "ID=debian\n", "/nope": null },
    });
    expect(await p.run(["systemctl", "is-active", "nginx"])).toEqual({
      rc: 3,
      stdout: "inactive\n",
      stderr: "",
    });
    expect(await p.read("/etc/os-release")).toBe("ID=debian\n");
    expect(await p.read("/nope")).toBeUndefined();
    await expect(p.run(["systemctl", "is-active", "redis"])).rejects.toThrow(
      'no answer for the command "systemctl is-active redis"',
    );
    await expect(p.read("/etc/passwd")).rejects.toThrow("no file /etc/passwd");
    expect(p.asked).toEqual([
      "systemctl is-active nginx",
      "/etc/os-release",
      "/nope",
      "systemctl is-active redis",
      "/etc/passwd",
    ]);
  });
});

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
