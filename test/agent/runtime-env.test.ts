// The agent's runtime settings (lib/agent/runtime-env.ts): what it is started
// again with, and what it forgets once started so. The restart itself is
// end to end (test/e2e/adhoc.test.ts: the agent's own environment, and that
// of a command it runs).
import { describe, expect, test } from "bun:test";
import {
  ADDED_MARK,
  AGENT_RUNTIME_ENV,
  forgetRuntimeEnv,
  runtimeEnv,
} from "../../lib/agent/runtime-env.ts";

const names = Object.keys(AGENT_RUNTIME_ENV);

describe("runtimeEnv", () => {
  test("adds every setting the environment lacks, and marks which it added", () => {
    const env = runtimeEnv({ PATH: "/bin", HOME: "/root" })!;
    expect(env).toEqual({
      PATH: "/bin",
      HOME: "/root",
      ...AGENT_RUNTIME_ENV,
      [ADDED_MARK]: names.join(","),
    });
  });

  test("a value the user set wins, and is not marked", () => {
    const [first, ...rest] = names;
    const env = runtimeEnv({ PATH: "/bin", [first!]: "500" })!;
    expect(env[first!]).toBe("500");
    expect(env[ADDED_MARK]).toBe(rest.join(","));
  });

  test("nothing to do: every setting already set, or already started with them", () => {
    expect(runtimeEnv(Object.fromEntries(names.map((k) => [k, "1"])))).toBeUndefined();
    expect(runtimeEnv({ PATH: "/bin", [ADDED_MARK]: "" })).toBeUndefined();
  });
});

describe("forgetRuntimeEnv", () => {
  test("removes what was added and the mark; keeps what the user set", () => {
    const first = names[0]!;
    const env: Record<string, string | undefined> = runtimeEnv({ PATH: "/bin", [first]: "500" })!;
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
