// The agent's and the master's runtime settings (lib/runtime-env.ts): what
// they are started again with, and what they forget once started so. The
// restart of the executable is end to end (test/e2e/adhoc.test.ts: the
// agent's and the master's own environment, and that of a command the agent
// runs); here the restart of an agent run from source, which keeps bun's own
// options.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "bun:test";
import { tempDir } from "../_temp.ts";
import { ADDED_MARK, RUNTIME_ENV, forgetRuntimeEnv, runtimeEnv } from "../../lib/runtime-env.ts";

const AGENT_RUNTIME_ENV = RUNTIME_ENV.agent;
const names = Object.keys(AGENT_RUNTIME_ENV);

describe("runtimeEnv", () => {
  test("adds every setting the environment lacks, and marks which it added", () => {
    const env = runtimeEnv("agent", { PATH: "/bin", HOME: "/root" })!;
    expect(env).toEqual({
      PATH: "/bin",
      HOME: "/root",
      ...AGENT_RUNTIME_ENV,
      [ADDED_MARK]: names.join(","),
    });
  });

  test("a value the user set wins, and is not marked", () => {
    const [first, ...rest] = names;
    const env = runtimeEnv("agent", { PATH: "/bin", [first!]: "500" })!;
    expect(env[first!]).toBe("500");
    expect(env[ADDED_MARK]).toBe(rest.join(","));
  });

  test("each command its own settings: the master's are not the agent's", () => {
    const env = runtimeEnv("master", { PATH: "/bin" })!;
    expect(env).toEqual({
      PATH: "/bin",
      ...RUNTIME_ENV.master,
      [ADDED_MARK]: Object.keys(RUNTIME_ENV.master).join(","),
    });
    expect(env.BUN_JSC_useFTLJIT).toBeUndefined();
    forgetRuntimeEnv(env);
    expect(env).toEqual({ PATH: "/bin" });
  });

  test("nothing to do: every setting already set, or already started with them", () => {
    expect(runtimeEnv("agent", Object.fromEntries(names.map((k) => [k, "1"])))).toBeUndefined();
    expect(runtimeEnv("agent", { PATH: "/bin", [ADDED_MARK]: "" })).toBeUndefined();
  });
});

describe("forgetRuntimeEnv", () => {
  test("removes what was added and the mark; keeps what the user set", () => {
    const first = names[0]!;
    const env: Record<string, string | undefined> = runtimeEnv("agent", {
      PATH: "/bin",
      [first]: "500",
    })!;
    forgetRuntimeEnv(env);
    expect(env).toEqual({ PATH: "/bin", [first]: "500" });
  });

  test("a mark naming anything else removes only the mark", () => {
    const env: Record<string, string | undefined> = { PATH: "/bin", [ADDED_MARK]: "PATH,HOME" };
    forgetRuntimeEnv(env);
    expect(env).toEqual({ PATH: "/bin" });
  });

  test("without the mark, nothing changes", () => {
    const env: Record<string, string | undefined> = { PATH: "/bin", ...AGENT_RUNTIME_ENV };
    forgetRuntimeEnv(env);
    expect(env).toEqual({ PATH: "/bin", ...AGENT_RUNTIME_ENV });
  });
});

test("an agent run from source is started again with bun's options, the script and its arguments", async () => {
  using dir = tempDir("salty-runtime-env-");
  const main = join(import.meta.dir, "../../cmd/main.ts");
  const args = ["agent", "127.0.0.1:1", "--id", "src1", "--keyroot", dir.path];
  const env = { ...process.env };
  for (const k of [...names, ADDED_MARK]) delete env[k];
  const p = Bun.spawn([process.execPath, "--smol", main, ...args], {
    env,
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    let environ: string[] = [];
    for (let i = 0; i < 200 && !environ.some((l) => l.startsWith(`${ADDED_MARK}=`)); i++) {
      await Bun.sleep(25);
      environ = readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0");
    }
    for (const [k, v] of Object.entries(AGENT_RUNTIME_ENV)) expect(environ).toContain(`${k}=${v}`);
    const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0").slice(1, -1);
    expect(argv).toEqual(["--smol", main, ...args]);
  } finally {
    p.kill("SIGKILL");
    await p.exited;
  }
});
