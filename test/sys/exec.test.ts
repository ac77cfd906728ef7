import { expect, test } from "bun:test";
import { limits } from "../../lib/constants.ts";
import { realExec, runShell } from "../../lib/sys/exec.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !Bun.spawnSync(["ps", "-o", "stat=", "-p", String(pid)])
      .stdout.toString()
      .startsWith("Z");
  } catch {
    return false;
  }
};

test("stdout and stderr in arrival order, the exit status", async () => {
  const r = await realExec([
    "/bin/sh",
    "-c",
    "echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c; exit 4",
  ]);
  expect(r).toEqual({ rc: 4, output: "a\nb\nc\n" });
});

test("output beyond the cap is dropped and said so", async () => {
  const r = await realExec([
    "/bin/sh",
    "-c",
    `head -c ${limits.shellOutputBytes + 5000} /dev/zero | tr '\\0' x`,
  ]);
  expect(r.rc).toBe(0);
  expect(r.output.length).toBeLessThan(limits.shellOutputBytes + 100);
  expect(r.output.endsWith("\n[output truncated: 5000 more bytes]")).toBe(true);
});

test("a timeout kills the whole process group", async () => {
  const r = await realExec(["/bin/sh", "-c", "sleep 30 & echo $!; wait"], { timeoutMs: 300 });
  expect(r.timedOut).toBe(true);
  expect(r.rc).not.toBe(0);
  const child = Number(r.output.trim());
  await Bun.sleep(50);
  expect(alive(child)).toBe(false);
});

test("an abort signal kills the process group", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const start = performance.now();
  const r = await realExec(["/bin/sh", "-c", "sleep 30"], { signal: ac.signal });
  expect(r.rc).not.toBe(0);
  expect(performance.now() - start).toBeLessThan(10_000);
});

test("a background child holding the output does not hold the caller", async () => {
  const r = await realExec(["/bin/sh", "-c", "(sleep 3; echo late) & echo started"]);
  expect(r).toEqual({ rc: 0, output: "started\n" });
});

test("a command that cannot start is rc 127 with a reason", async () => {
  const r = await realExec(["/nonexistent/salty-cmd"]);
  expect(r.rc).toBe(127);
  expect(r.output).toContain("cannot run /nonexistent/salty-cmd");
});

test("runShell (serverShell on the master) returns a Result", async () => {
  const r = await runShell({ cmds: "echo $X; pwd", cwd: "/", env: { X: "y" } });
  expect(r).toMatchObject({
    cmd: "serverShell(echo $X; pwd)",
    rc: 0,
    changed: true,
    output: "y\n/\n",
  });
  const t = await runShell({ cmds: "sleep 5", timeout: 0.2 });
  expect(t.error).toBe("timed out after 0.2s");
});

test("a command never inherits the crypto password from the daemon's environment; a role may pass one on purpose", async () => {
  const saved = { PASSWORD: process.env.PASSWORD, SALTY_PASSWORD: process.env.SALTY_PASSWORD };
  process.env.PASSWORD = "daemon-pw-1";
  process.env.SALTY_PASSWORD = "daemon-pw-2";
  try {
    const r = await realExec(["/bin/sh", "-c", 'echo "[$PASSWORD][$SALTY_PASSWORD][$KEEP]"'], {
      env: { KEEP: "k" },
    });
    expect(r.output).toBe("[][][k]\n");
    const own = await realExec(["/bin/sh", "-c", 'echo "[$PASSWORD]"'], {
      env: { PASSWORD: "role-given" },
    });
    expect(own.output).toBe("[role-given]\n");
  } finally {
    restoreEnv(saved);
  }
});

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test("stdin: given, the command reads it (chpasswd -e's name:hash, never on the command line); else it reads nothing", async () => {
  expect(await realExec(["cat"], { stdin: "app:$6$x$y\n" })).toEqual({
    rc: 0,
    output: "app:$6$x$y\n",
  });
  expect(await realExec(["cat"])).toEqual({ rc: 0, output: "" });
});
