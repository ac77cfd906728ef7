// The git commands `salty pull` runs, and nothing else: a thin runner over the
// git executable (never a shell), with the child environment every salty child
// gets (no crypto password) and no terminal prompt (a service must not hang on one).

import { SaltyError } from "../errors.ts";
import { childEnv } from "../sys/child-env.ts";

export type Git = (args: string[]) => Promise<string>;

/** Set by git for a hook (a post-receive runs `salty pull`): they would point our git at the pushed repository. */
const REPO_ENV = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_QUARANTINE_PATH",
  "GIT_COMMON_DIR",
  "GIT_NAMESPACE",
  "GIT_PREFIX",
];

function gitEnv(): Record<string, string> {
  const env = childEnv({ GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" });
  for (const k of REPO_ENV) delete env[k];
  return env;
}

/** git in `dir` (a repository); its stdout trimmed, or a SaltyError with git's first line of complaint. */
export function gitIn(dir: string): Git {
  return async (args) => {
    let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
    try {
      proc = Bun.spawn(["git", "-C", dir, ...args], {
        env: gitEnv(),
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
    } catch {
      throw new SaltyError("salty pull needs git: it is not on this host's PATH", "E_NO_GIT");
    }
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) {
      const line =
        err
          .split("\n")
          .map((l) => l.trim())
          .find((l) => l && !l.startsWith("hint:")) ?? `exit ${code}`;
      throw new SaltyError(
        `git ${args[0]} failed: ${line.replace(/^(fatal|error): /, "")}`,
        "E_GIT",
      );
    }
    return out.trim();
  };
}

/** The commit a ref names, or undefined when there is no such ref. */
export async function revParse(git: Git, ref: string): Promise<string | undefined> {
  const out = await git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]).catch(() => "");
  return out || undefined;
}

/** Whether `ancestor` is `commit` or one of its ancestors (a fast-forward from it). */
export async function isAncestor(git: Git, ancestor: string, commit: string): Promise<boolean> {
  return git(["merge-base", "--is-ancestor", ancestor, commit]).then(
    () => true,
    () => false,
  );
}
