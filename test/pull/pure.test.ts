// The pure parts of `salty pull`: what it accepts as --repo and --branch (never
// something git would read as an option), and the post-receive hook, run by
// /bin/sh as git runs it: only a push of its branch runs the pull.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkBranch, checkRepo } from "../../lib/pull/pull.ts";
import { renderHook } from "../../lib/pull/hook.ts";
import { tempDirForFile } from "../_temp.ts";

const dir = tempDirForFile("salty-pull-pure-");

describe("checkRepo", () => {
  test.each([
    ["https://git.example.com/deploy.git", "https://git.example.com/deploy.git"],
    ["ssh://git@git.example.com/deploy", "ssh://git@git.example.com/deploy"],
    ["git@git.example.com:deploy.git", "git@git.example.com:deploy.git"],
    ["deploy.git", "/srv/deploy.git"],
    ["/abs/deploy.git", "/abs/deploy.git"],
  ])("%s", (repo, expected) => {
    expect(checkRepo(repo, "/srv")).toBe(expected);
  });

  test.each(["--upload-pack=touch /tmp/x", "-oProxyCommand=x", "a\nb"])("%j is refused", (repo) => {
    expect(() => checkRepo(repo, "/srv")).toThrow("--repo must be a git URL or a path");
  });

  test("none is a usage error", () => {
    expect(() => checkRepo(undefined, "/srv")).toThrow("salty pull needs --repo URL|PATH");
  });
});

describe("checkBranch", () => {
  test.each(["main", "release/2026.12", "v1_x"])("%s", (b) => expect(checkBranch(b)).toBe(b));
  test.each(["-x", "--upload-pack=x", "a..b", "a.lock", "a/", "a b", "x:y", ""])(
    "%j is refused",
    (b) => {
      expect(() => checkBranch(b)).toThrow("--branch must be a branch name");
    },
  );
});

describe("the post-receive hook", () => {
  const marker = join(dir, "ran");
  const hook = join(dir, "post-receive");
  writeFileSync(
    hook,
    renderHook({
      argv: ["/bin/sh", "-c", `echo "it's me" > '${marker}'; echo pulled`],
      branch: "main",
      generator: "salty test",
    }),
    { mode: 0o755 },
  );

  async function push(lines: string): Promise<{ code: number; out: string }> {
    rmSync(marker, { force: true });
    const p = Bun.spawn(["/bin/sh", hook], {
      stdin: new TextEncoder().encode(lines),
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, GIT_DIR: "." },
    });
    const [o, e, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, out: o + e };
  }

  test("a push of another branch runs nothing", async () => {
    expect(await push(`${"0".repeat(40)} ${"1".repeat(40)} refs/heads/dev\n`)).toEqual({
      code: 0,
      out: "",
    });
    expect(await Bun.file(marker).exists()).toBe(false);
  });

  test("a push of the branch runs the command, its output to the pusher", async () => {
    expect(
      await push(
        `${"0".repeat(40)} ${"1".repeat(40)} refs/heads/dev\n${"1".repeat(40)} ${"2".repeat(40)} refs/heads/main\n`,
      ),
    ).toEqual({ code: 0, out: "pulled\n" });
    expect(await Bun.file(marker).text()).toBe("it's me\n");
  });

  test("a newline in an argument is refused", () => {
    expect(() => renderHook({ argv: ["/x", "a\nb"], branch: "main", generator: "t" })).toThrow(
      "a hook argument may not hold a newline or NUL",
    );
  });
});
