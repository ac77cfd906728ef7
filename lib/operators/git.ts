// git(repo, dest, {rev, depth, user}): dest is a checkout of `rev` (a branch,
// a tag, a full commit hash; "HEAD", the remote's default branch, when none)
// of `repo`, detached at that commit. Planned through the probe: the local
// HEAD (`git rev-parse`) and, for a name, the remote's commit (`git ls-remote`,
// read-only); a full 40-hex rev that equals HEAD asks the network nothing.
// Carried out by exec changes: init, remote, fetch of that one ref or commit
// (`--depth` when given), checkout. Local modifications that a checkout would
// overwrite make it fail (git's message), they are never discarded.
// Credentials in an http(s) URL (https://user:token@host/repo) are never in a
// command line, an output or the checkout's .git/config: the remote is stored
// without them, and the fetch gets them through git's environment config
// (url.<with credentials>.insteadOf <without>).

import type { GitOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { parents } from "./_owner.ts";
import { destination } from "./_paths.ts";
import { checkName } from "./useradd.ts";
import { plainUrl } from "./download.ts";
import type { Change, OpCtx, Operator, Plan } from "./types.ts";

const COMMIT = /^[0-9a-f]{40}$/;

/** The commit of `rev` in `git ls-remote` output: HEAD, a branch, a tag (peeled first); undefined when absent. Pure. */
export function resolveRemote(
  lsRemote: string,
  rev: string,
): { commit: string; ref: string } | undefined {
  const refs = new Map<string, string>();
  for (const line of lsRemote.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (sha && ref && COMMIT.test(sha)) refs.set(ref, sha);
  }
  const order =
    rev === "HEAD"
      ? [["HEAD", "HEAD"]]
      : rev.startsWith("refs/")
        ? [
            [rev, rev],
            [`${rev}^{}`, rev],
          ]
        : [
            [`refs/heads/${rev}`, `refs/heads/${rev}`],
            [`refs/tags/${rev}^{}`, `refs/tags/${rev}`],
            [`refs/tags/${rev}`, `refs/tags/${rev}`],
          ];
  for (const [key, ref] of order) {
    const commit = refs.get(key!);
    if (commit) return { commit, ref: ref! };
  }
  return undefined;
}

function checkArgs(
  repo: unknown,
  opts: GitOpts,
): { repo: string; rev: string; depth?: number; user?: string } {
  if (typeof repo !== "string" || repo === "" || repo.startsWith("-") || /[\0\n]/.test(repo))
    throw new SaltyError(
      `repo must be a URL or path (not an option): ${JSON.stringify(repo)}`,
      "E_ARG",
    );
  if (!opts || typeof opts !== "object")
    throw new SaltyError("git options must be an object", "E_ARG");
  const rev = opts.rev ?? "HEAD";
  if (
    typeof rev !== "string" ||
    !/^[A-Za-z0-9._/^{}-]+$/.test(rev) ||
    rev.startsWith("-") ||
    rev.includes("..")
  ) {
    throw new SaltyError(
      `rev must be a branch, a tag or a commit hash: ${JSON.stringify(rev)}`,
      "E_ARG",
    );
  }
  if (opts.depth !== undefined && (!Number.isInteger(opts.depth) || opts.depth < 1))
    throw new SaltyError(
      `depth must be a positive integer: ${JSON.stringify(opts.depth)}`,
      "E_ARG",
    );
  if (opts.user !== undefined) checkName(opts.user);
  return {
    repo,
    rev,
    ...(opts.depth ? { depth: opts.depth } : {}),
    ...(opts.user ? { user: opts.user } : {}),
  };
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 12) : "(none)");

export const git: Operator<[repo: string, dest: string, opts?: GitOpts]> = {
  describe: (repo, dest, opts) =>
    `git(${plainUrl(repo)}, ${dest}${opts?.rev ? `, ${opts.rev}` : ""})`,
  async plan(ctx: OpCtx, repoArg, destArg, opts = {}): Promise<Plan> {
    const { repo, rev, depth, user } = checkArgs(repoArg, opts);
    const dest = destination(ctx, destArg, "dest");
    if (user && !(await ctx.users.user(user)))
      throw new SaltyError(`no such user: ${user}`, "E_NO_USER");
    // As the user when one is given (the checkout is theirs); safe.directory: a root probe may read a user's checkout.
    // GIT_TERMINAL_PROMPT=0: a remote that asks for a password fails at once instead of waiting on a terminal.
    const base = [
      ...(user ? ["runuser", "-u", user, "--"] : []),
      "env",
      "GIT_TERMINAL_PROMPT=0",
      "git",
    ];
    const inDest = [...base, "-c", `safe.directory=${dest.real}`, "-C", dest.real];
    const probe = async (argv: string[]) => ctx.probe.run(argv, { timeoutMs: 120_000 });
    const shown = plainUrl(repo);
    const secretEnv =
      shown !== repo
        ? {
            GIT_CONFIG_COUNT: "1",
            GIT_CONFIG_KEY_0: `url.${repo}.insteadOf`,
            GIT_CONFIG_VALUE_0: shown,
          }
        : undefined;
    const hide = (s: string) => (shown === repo ? s : s.replaceAll(repo, shown));

    const st = await ctx.observe.lstat(dest.real);
    if (st && st.type !== "dir")
      throw new SaltyError(`${dest.path} exists and is not a directory`, "E_NOT_DIR");
    const isRepo = st ? (await ctx.observe.lstat(`${dest.real}/.git`)) !== undefined : false;
    if (st && !isRepo && (await ctx.observe.walk(dest.real)).length > 0)
      throw new SaltyError(
        `${dest.path} exists, is not empty and is not a git checkout`,
        "E_NOT_EMPTY",
      );

    let old: string | undefined;
    let url: string | undefined;
    if (isRepo) {
      const head = await probe([...inDest, "rev-parse", "--verify", "-q", "HEAD"]);
      old = head.rc === 0 && COMMIT.test(head.stdout.trim()) ? head.stdout.trim() : undefined;
      const u = await probe([...inDest, "config", "--get", "remote.origin.url"]);
      url = u.rc === 0 ? u.stdout.trim() : undefined;
    }
    const sameRemote = url === shown;

    // The commit wanted: a full hash as given (no network), a name from the remote.
    let target: string;
    let fetchWhat: string;
    if (COMMIT.test(rev)) {
      target = fetchWhat = rev;
      if (old === rev && sameRemote) return { changes: [], created: false, note: `at ${rev}` };
    } else {
      const ls = await probe([...base, "ls-remote", "--", repo, rev, `${rev}^{}`]); // ^{}: an annotated tag's commit
      if (ls.rc !== 0)
        throw new SaltyError(
          `cannot read ${shown}: ${hide(ls.stderr.trim()) || `git ls-remote rc ${ls.rc}`}`,
          "E_GIT",
        );
      const found = resolveRemote(ls.stdout, rev);
      if (!found)
        throw new SaltyError(
          `${rev} is neither a branch nor a tag of ${plainUrl(repo)}`,
          "E_GIT_REV",
        );
      target = found.commit;
      fetchWhat = found.ref;
      if (old === target && sameRemote)
        return { changes: [], created: false, note: `at ${target} (${rev})` };
    }

    const changes: Change[] = [];
    if (!st) {
      const owner = user ? await ctx.users.user(user) : await ctx.users.self();
      changes.push(...(await parents(ctx, dest.path)), {
        kind: "mkdir",
        path: dest.path,
        mode: 0o755,
        uid: owner!.uid,
        gid: owner!.gid,
      });
    }
    if (!isRepo)
      changes.push(
        { kind: "exec", argv: [...inDest, "init", "-q"] },
        { kind: "exec", argv: [...inDest, "remote", "add", "origin", shown] },
      );
    else if (url === undefined)
      changes.push({ kind: "exec", argv: [...inDest, "remote", "add", "origin", shown] });
    else if (!sameRemote)
      changes.push({ kind: "exec", argv: [...inDest, "remote", "set-url", "origin", shown] });
    // Nothing to fetch when the commit is already in the local repository (a checkout back to an older commit).
    const local = isRepo
      ? (await probe([...inDest, "cat-file", "-e", `${target}^{commit}`])).rc === 0
      : false;
    if (!local)
      changes.push({
        kind: "exec",
        argv: [
          ...inDest,
          "fetch",
          "-q",
          "--no-tags",
          ...(depth ? ["--depth", String(depth)] : []),
          "origin",
          fetchWhat,
        ],
        ...(secretEnv ? { env: secretEnv } : {}),
      });
    changes.push({ kind: "exec", argv: [...inDest, "checkout", "-q", "--detach", target] });

    return {
      changes,
      created: !isRepo,
      summary: `check out ${short(old)} -> ${short(target)}${rev === target ? "" : ` (${rev})`}`,
      report: async () => {
        const now = await probe([...inDest, "rev-parse", "--verify", "-q", "HEAD"]);
        if (now.stdout.trim() !== target)
          throw new SaltyError(
            `${dest.path} is at ${short(now.stdout.trim())} after the checkout, not ${short(target)}`,
            "E_GIT",
          );
        return `${old ?? "(none)"} -> ${target}`;
      },
    };
  },
};
