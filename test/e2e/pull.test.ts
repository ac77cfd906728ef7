// salty pull end to end (issue 21): real git (a bare repository made here, a
// working clone that commits and pushes to it) and the compiled binary. The
// pull applies the first commit, refuses to move salty/last-good on a commit
// whose role fails and tries it again at the next pull, moves on to the fix;
// history rewritten upstream is refused, and so is a non-fast-forward push to
// a repository with the hook, whose pushes run the pull and show its output.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { FAST_TIMING, world, type World } from "./_harness.ts";
import type { JobSummary } from "../../lib/history/types.ts";

let w: World;
let bare: string;
let work: string;
const gitEnv = {
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.com",
  PASSWORD: "",
  SALTY_PASSWORD: "",
};

async function git(cwd: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["git", "-C", cwd, ...args], {
    env: { ...process.env, ...gitEnv },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [o, e, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out: (o + e).trim() };
}

async function ok(cwd: string, ...args: string[]): Promise<string> {
  const r = await git(cwd, ...args);
  if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.out}`);
  return r.out;
}

/** Write files in the working clone, commit, push; the new commit's id. */
async function commit(files: Record<string, string>, message: string): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, rel)), { recursive: true });
    writeFileSync(join(work, rel), text);
  }
  await ok(work, "add", "-A");
  await ok(work, "commit", "-q", "-m", message);
  return ok(work, "rev-parse", "HEAD");
}

const inventory = `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { h1: { env: "lab", roles: ["base"] } } },
};
`;
const role = (extra = "") => `export default async ({ copy, shell, print, version, bootstrap }) => {
  await copy("base/motd", "/etc/motd");
  print("version=" + version + " bootstrap=" + bootstrap);
  ${extra}
};
`;

const keyroot = () => join(w.dir, "pull-keys");
const sandbox = () => join(w.dir, "root");
const state = () => join(w.dir, "pull-state");
const pullArgs = () => [
  "pull",
  "--repo",
  bare,
  "--id",
  "h1",
  "--keyroot",
  keyroot(),
  "--state",
  state(),
  "--path",
  sandbox(),
];
const lastGood = () =>
  git(join(state(), "pull", "repo"), "rev-parse", "--verify", "-q", "salty/last-good").then(
    (r) => r.out,
  );
const motd = () => readFileSync(join(sandbox(), "etc/motd"), "utf8");

beforeAll(async () => {
  w = await world({
    files: {},
    env: { PASSWORD: "", SALTY_PASSWORD: "" },
    timing: JSON.stringify({ ...JSON.parse(FAST_TIMING), scheduledMinGapMs: 0 }),
  });
  bare = join(w.dir, "deploy.git");
  work = join(w.dir, "work");
  await ok(w.dir, "init", "-q", "--bare", "-b", "main", bare);
  await ok(w.dir, "clone", "-q", bare, work);
  await ok(work, "checkout", "-q", "-b", "main");
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

test("a pull applies a commit, keeps last-good on a failing one and retries it, moves on to the fix", async () => {
  const c1 = await commit(
    { "hosts/index.ts": inventory, "roles/base.ts": role(), "files/base/motd": "one\n" },
    "first",
  );
  await ok(work, "push", "-q", "origin", "main");
  const first = await w.salty([...pullArgs(), "-vv"]);
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  expect(first.stdout).toContain(`pull: fetched main at ${c1}\n`);
  expect(first.stdout).toMatch(/^host:h1 elapsed:\S+ errors:0 changed:\d+$/m);
  expect(first.stdout).toContain(`version=${c1} bootstrap=false`);
  expect(first.stdout).toEndWith(`pull: salty/last-good -> ${c1}\n`);
  expect(motd()).toBe("one\n");
  expect(await lastGood()).toBe(c1);

  const again = await w.salty(pullArgs());
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`nothing to do: ${c1} is the last good commit`);
  expect(again.stdout).not.toContain("host:h1");

  const c2 = await commit(
    {
      "roles/base.ts": role(`await shell("echo broken on purpose >&2; exit 3");`),
      "files/base/motd": "two\n",
    },
    "broken",
  );
  await ok(work, "push", "-q", "origin", "main");
  for (let attempt = 0; attempt < 2; attempt++) {
    const failed = await w.salty(pullArgs());
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`pull: applying ${c2} to h1`);
    expect(failed.stderr).toContain("broken on purpose");
    expect(failed.stderr).toEndWith(
      `salty: ${c2} failed: salty/last-good stays at ${c1}; the commit is tried again at the next pull\n`,
    );
    expect(await lastGood()).toBe(c1);
  }
  expect(motd()).toBe("two\n");

  const c3 = await commit({ "roles/base.ts": role(), "files/base/motd": "three\n" }, "fixed");
  await ok(work, "push", "-q", "origin", "main");
  const fixed = await w.salty(pullArgs());
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toContain(`fetched main at ${c3} (last good: ${c1})`);
  expect(fixed.stdout).toEndWith(`pull: salty/last-good -> ${c3}\n`);
  expect(motd()).toBe("three\n");
  expect(await lastGood()).toBe(c3);

  const forced = await w.salty([...pullArgs(), "--force"]);
  expect(forced.code).toBe(0);
  expect(forced.stdout).toContain(`pull: applying ${c3} to h1`);
});

test("history rewritten upstream is refused, and so is a non-fast-forward push once the hook is installed; a push runs the pull", async () => {
  const good = await lastGood();
  // Rewrite the branch in the bare repository behind git's back (an admin's force push).
  await ok(work, "commit", "-q", "--amend", "-m", "rewritten");
  const rewritten = await ok(work, "rev-parse", "HEAD");
  await ok(work, "push", "-q", "--force", "origin", "main");
  const refused = await w.salty(pullArgs());
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    `salty: refusing ${rewritten}: not a fast-forward of the last good commit ${good} (history was rewritten upstream)\n`,
  );
  expect(await lastGood()).toBe(good);
  // Put the good history back.
  await ok(work, "reset", "-q", "--hard", good);
  await ok(work, "push", "-q", "--force", "origin", "main");

  const hook = await w.salty([
    ...pullArgs().filter((a, i, all) => a !== "--repo" && all[i - 1] !== "--repo"),
    "--install-hook",
    bare,
  ]);
  expect(hook.stderr).toBe("");
  expect(hook.stdout).toBe(`wrote ${join(bare, "hooks/post-receive")}\n`);

  const c4 = await commit({ "files/base/motd": "four\n" }, "pushed");
  const pushed = await git(work, "push", "origin", "main");
  expect(pushed.code).toBe(0);
  expect(pushed.out).toContain(`remote: pull: applying ${c4} to h1`);
  expect(pushed.out).toContain(`remote: pull: salty/last-good -> ${c4}`);
  expect(motd()).toBe("four\n");
  expect(await lastGood()).toBe(c4);

  await ok(work, "commit", "-q", "--amend", "-m", "rewritten again");
  const nonFf = await git(work, "push", "--force", "origin", "main");
  expect(nonFf.code).not.toBe(0);
  expect(nonFf.out).toMatch(/denying non-fast-forward/);
  expect(nonFf.out).not.toContain("remote: pull:");
  expect(await lastGood()).toBe(c4);
  await ok(work, "reset", "-q", "--hard", c4);
});

test("secrets in the repository and no crypto.pass on the host: one line, exit 1, nothing applied", async () => {
  const before = await lastGood();
  const c = await commit(
    { "files/base/secret.enc": "not really encrypted, but named so" },
    "a secret",
  );
  await ok(work, "push", "-q", "origin", "main");
  const r = await w.salty(pullArgs());
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    `salty: the repository holds secrets (files/base/secret.enc is encrypted) and this host has no ${join(keyroot(), "crypto.pass")}: write it (or set $SALTY_PASSWORD), then pull again\n`,
  );
  expect(r.stdout).not.toContain("applying");
  expect(await lastGood()).toBe(before);
  expect(existsSync(join(state(), "pull", "lock"))).toBe(false);
  void c;
});

test("--report lands the pull in a master's history as a job of kind pull, failures included", async () => {
  const master = await w.startMaster(["--auto-accept"]);
  const report = ["--report", `127.0.0.1:${w.port}`];
  const jobs = async (): Promise<JobSummary[]> =>
    JSON.parse(
      (await w.salty(["jobs", "--kind", "pull", "--json", "--keyroot", w.keyroot])).stdout,
    );
  const settled = async (id: string) => {
    for (let i = 0; i < 100; i++) {
      const j = (await jobs()).find((x) => x.id === id && x.status !== "running");
      if (j) return j;
      await Bun.sleep(100);
    }
    throw new Error(`job ${id} not recorded; master said:\n${master.output}`);
  };
  // The commit of the last test still needs a password: the failure is reported too.
  const failed = await w.salty([...pullArgs(), ...report]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toStartWith("salty: the repository holds secrets");
  const failedJob = failed.stdout.match(/^pull: reported to 127\.0\.0\.1:\d+ as job (\S+)$/m)?.[1];
  expect(failedJob).toBeDefined();
  expect(await settled(failedJob!)).toMatchObject({
    kind: "pull",
    who: "agent:h1",
    target: "h1",
    status: "failed",
    hosts: 1,
    failed: 1,
  });

  writeFileSync(join(keyroot(), "crypto.pass"), "a password\n", { mode: 0o600 });
  const head = await ok(work, "rev-parse", "HEAD");
  const r = await w.salty([...pullArgs(), ...report]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const id = r.stdout.match(/^pull: reported to 127\.0\.0\.1:\d+ as job (\S+)$/m)?.[1];
  expect(await settled(id!)).toMatchObject({
    kind: "pull",
    who: "agent:h1",
    target: "h1",
    version: head,
    status: "ok",
    hosts: 1,
    failed: 0,
  });
  const shown = await w.salty(["jobs", "show", id!, "--keyroot", w.keyroot]);
  expect(shown.stdout).toMatch(/^host:h1 elapsed:\S+ errors:0 changed:\d+$/m);
  expect(master.output).toContain(`job.end job=${id} kind=pull`);
});
