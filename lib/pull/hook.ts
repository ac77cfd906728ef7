// `salty pull --install-hook BARE_REPO`: Troops' `git push host:repo`. The
// bare repository gets a post-receive hook that runs `salty pull` from itself
// when the branch is pushed, its output (stdout and stderr) going back to the
// pusher as `remote:` lines, and git's own refusal of non-fast-forward pushes
// and branch deletions. renderHook is pure; installHook writes.

import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SaltyError } from "../errors.ts";
import { quote } from "../operators/quote.ts";
import { gitIn } from "./git.ts";

/** The hook: `argv` is the whole `salty pull ...` command line, run only when refs/heads/BRANCH moved. */
export function renderHook(o: { argv: string[]; branch: string; generator: string }): string {
  for (const a of o.argv)
    if (/[\0\n\r]/.test(a))
      throw new SaltyError("a hook argument may not hold a newline or NUL", "E_HOOK");
  return [
    "#!/bin/sh",
    `# Written by ${o.generator} (salty pull --install-hook): a push of ${o.branch} runs salty pull;`,
    "# its output goes back to the pusher. Written again by the next --install-hook.",
    "run=",
    `while read -r old new ref; do [ "$ref" = ${quote(`refs/heads/${o.branch}`)} ] && run=1; done`,
    '[ -n "$run" ] || exit 0',
    "unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES",
    `exec ${quote(...o.argv)} 2>&1`,
    "",
  ].join("\n");
}

export interface HookReport {
  path: string;
  changed: boolean;
}

/** Write BARE/hooks/post-receive (mode 0755, atomically) and refuse rewrites and deletions of its branches. */
export async function installHook(bare: string, content: string): Promise<HookReport> {
  if (
    !existsSync(join(bare, "HEAD")) ||
    !existsSync(join(bare, "objects")) ||
    existsSync(join(bare, ".git"))
  ) {
    throw new SaltyError(
      `${bare} is not a bare git repository (make one with: git init --bare ${bare})`,
      "E_HOOK",
    );
  }
  const git = gitIn(bare);
  await git(["config", "receive.denyNonFastForwards", "true"]);
  await git(["config", "receive.denyDeletes", "true"]);
  const path = join(bare, "hooks", "post-receive");
  const changed = !existsSync(path) || readFileSync(path, "utf8") !== content;
  if (changed) {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, content, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  }
  return { path, changed };
}
