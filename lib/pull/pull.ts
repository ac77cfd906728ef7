// `salty pull`: a masterless deploy from git, as Troops does it. Fetch the
// branch into a local clone, refuse anything but a fast-forward of the last
// commit that applied, apply this host's roles from the fetched commit in one
// process (lib/bootstrap.ts with bootstrap=false and version= the commit), and
// move refs/salty/last-good to it only when the apply succeeded: a failed
// commit is tried again at the next pull. The steps are said through `say`
// as they happen (a post-receive hook streams them back to the pusher).

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { SaltyError, UsageError } from "../errors.ts";
import { bootstrap } from "../bootstrap.ts";
import { PASSWORD_FILE } from "../crypto/secrets.ts";
import { SecretKeySource, secretsInFileroot } from "../master/secret-key-source.ts";
import type { ApplyReport } from "../wire/api.ts";
import { gitIn, isAncestor, revParse } from "./git.ts";
import { holdLock } from "./lock.ts";

export const LAST_GOOD = "refs/salty/last-good";
const FETCHED = "refs/salty/fetched";

export interface PullOptions {
  /** A git URL or a local path. */
  repo: string;
  branch: string;
  id: string;
  /** crypto.pass and the agent's handler journal. */
  keyroot: string;
  /** Where the local clone lives: STATE/pull. */
  stateDir: string;
  pathPrefix: string;
  /** Apply even when the fetched commit is the last good one. */
  force: boolean;
  timeoutMs?: number;
  say(line: string): void;
}

export interface PullResult {
  commit: string;
  /** refs/salty/last-good before this pull. */
  lastGood?: string;
  /** Absent: nothing to do (the commit is the last good one). */
  report?: ApplyReport;
}

/** A branch name git accepts and that cannot be taken for an option. */
export function checkBranch(branch: string): string {
  if (
    !/^[A-Za-z0-9._][A-Za-z0-9._/-]*$/.test(branch) ||
    branch.includes("..") ||
    branch.endsWith(".lock") ||
    branch.endsWith("/")
  ) {
    throw new UsageError(`--branch must be a branch name, not ${JSON.stringify(branch)}`);
  }
  return branch;
}

/** A URL or a path; a local path is made absolute. Never something git would read as an option. */
export function checkRepo(repo: string | undefined, cwd: string): string {
  if (!repo) throw new UsageError("salty pull needs --repo URL|PATH");
  if (repo.startsWith("-") || /[\0\n\r]/.test(repo))
    throw new UsageError(`--repo must be a git URL or a path, not ${JSON.stringify(repo)}`);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/]+:/.test(repo)
    ? repo
    : resolve(cwd, repo);
}

export async function pull(opts: PullOptions): Promise<PullResult> {
  const dir = join(opts.stateDir, "pull");
  // The master side refuses every path inside its keyroot: a fileroot there would serve nothing.
  if (`${resolve(dir)}/`.startsWith(`${resolve(opts.keyroot)}/`))
    throw new UsageError(
      `--state ${opts.stateDir} is inside the keyroot ${opts.keyroot}: give another directory`,
    );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  using _lock = holdLock(join(dir, "lock"));
  const clone = join(dir, "repo");
  const git = gitIn(clone);
  if (!existsSync(join(clone, ".git"))) {
    mkdirSync(clone, { recursive: true, mode: 0o700 });
    await git(["init", "--quiet"]);
  }
  // Forced into our own ref: whether it may be applied is decided against last-good below, not by git.
  await git(["fetch", "--quiet", "--no-tags", opts.repo, `+refs/heads/${opts.branch}:${FETCHED}`]);
  const commit = (await revParse(git, FETCHED))!;
  const lastGood = await revParse(git, LAST_GOOD);
  opts.say(`fetched ${opts.branch} at ${commit}${lastGood ? ` (last good: ${lastGood})` : ""}`);
  if (lastGood === commit && !opts.force) {
    opts.say(`nothing to do: ${commit} is the last good commit (--force applies it again)`);
    return { commit, lastGood };
  }
  if (lastGood && !(await isAncestor(git, lastGood, commit))) {
    throw new SaltyError(
      `refusing ${commit}: not a fast-forward of the last good commit ${lastGood} (history was rewritten upstream)`,
      "E_NOT_FAST_FORWARD",
    );
  }
  await git(["checkout", "--quiet", "--force", "--detach", commit]);
  await git(["clean", "--quiet", "-d", "--force", "-x"]);
  await needPassword(clone, opts.keyroot);
  opts.say(`applying ${commit} to ${opts.id}`);
  const report = await bootstrap({
    id: opts.id,
    fileroot: clone,
    keyroot: opts.keyroot,
    pathPrefix: opts.pathPrefix,
    args: [`version=${commit}`],
    dryRun: false,
    diff: false,
    bootstrap: false,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  if (report.rc === 0) {
    // Compare-and-swap: a concurrent change of last-good (there is none under the lock) would fail here.
    await git([
      "update-ref",
      "-m",
      `salty pull: applied ${commit}`,
      LAST_GOOD,
      commit,
      lastGood ?? "",
    ]);
  }
  return { commit, ...(lastGood ? { lastGood } : {}), report };
}

/** Secrets in the checked-out commit and no password on this host: say so before anything is applied. */
async function needPassword(fileroot: string, keyroot: string): Promise<void> {
  const found = await secretsInFileroot(fileroot);
  if (!found || new SecretKeySource(keyroot).current()) return;
  throw new SaltyError(
    `the repository holds secrets (${found}) and this host has no ${join(keyroot, PASSWORD_FILE)}: write it (or set $SALTY_PASSWORD), then pull again`,
    "E_NO_PASSWORD",
  );
}
