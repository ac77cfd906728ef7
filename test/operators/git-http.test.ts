// git() against a real HTTP remote on loopback that asks for a password (git's
// dumb HTTP protocol served by Bun.serve with Basic auth): credentials given in
// the URL reach git (ls-remote, fetch) but no command line, output, error,
// dry run or the checkout's .git/config holds them; a wrong password is rc 1
// at once (no prompt), without the password in the error.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git } from "../../lib/operators/git.ts";
import { callOperator } from "../../lib/operators/call.ts";
import { makeWorld } from "./_world.ts";
import { tempDir } from "../_temp.ts";

const tmpDir = tempDir("salty-git-http-");
const tmp = tmpDir.path;
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
};
function sh(argv: string[], cwd = tmp): string {
  const p = Bun.spawnSync(argv, { cwd, env });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}
sh(["git", "init", "-q", "-b", "main", "work"]);
writeFileSync(join(tmp, "work/README"), "hi\n");
sh(["git", "add", "README"], join(tmp, "work"));
sh(["git", "commit", "-q", "-m", "one"], join(tmp, "work"));
const head = sh(["git", "rev-parse", "HEAD"], join(tmp, "work"));
sh(["git", "clone", "-q", "--bare", "work", "repo.git"]);
sh(["git", "update-server-info"], join(tmp, "repo.git"));

const PASSWORD = "s3cret-token-77";
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    if (req.headers.get("authorization") !== `Basic ${btoa(`deploy:${PASSWORD}`)}`)
      return new Response("no\n", {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="git"' },
      });
    const path = new URL(req.url).pathname;
    const file = Bun.file(join(tmp, path.replace(/^\/+/, "")));
    return file.size >= 0 && !path.includes("..")
      ? new Response(file)
      : new Response("", { status: 404 });
  },
});
const plain = `http://127.0.0.1:${server.port}/repo.git`;
const withCreds = (pw: string) => `http://deploy:${pw}@127.0.0.1:${server.port}/repo.git`;

afterAll(() => {
  server.stop(true);
  tmpDir[Symbol.dispose]();
});

test("credentials in the URL: used, never shown nor stored; then changed:0", async () => {
  await using w = await makeWorld({ diff: true });
  const first = await callOperator(w.ctx(), git, [
    withCreds(PASSWORD),
    "/srv/src",
    { rev: "main" },
  ]);
  expect(first.result).toMatchObject({ rc: 0, changed: true, output: `(none) -> ${head}` });
  expect(JSON.stringify(first.result)).not.toContain(PASSWORD);
  // Only the fetch's environment holds them (never printed: a dry run shows argv only).
  expect(
    JSON.stringify(first.plan?.changes.map((c) => (c.kind === "exec" ? c.argv : c))),
  ).not.toContain(PASSWORD);
  expect(first.result.cmd).toBe(`git(${plain}, /srv/src, main)`);
  expect(readFileSync(join(w.prefix, "srv/src/README"), "utf8")).toBe("hi\n");
  expect(readFileSync(join(w.prefix, "srv/src/.git/config"), "utf8")).not.toContain(PASSWORD);
  const again = await callOperator(w.ctx(), git, [
    withCreds(PASSWORD),
    "/srv/src",
    { rev: "main" },
  ]);
  expect(again.result).toMatchObject({ rc: 0, changed: false });

  await using d = await makeWorld({ dryRun: true, diff: true });
  const dry = await callOperator(d.ctx(), git, [withCreds(PASSWORD), "/srv/src", { rev: "main" }]);
  expect(dry.result).toMatchObject({ rc: 0, changed: true });
  expect(dry.result.output).toContain(`remote add origin ${plain}`);
  expect(JSON.stringify(dry.result)).not.toContain(PASSWORD);
});

test("a wrong password: rc 1 at once, the password in no message", async () => {
  await using w = await makeWorld({});
  const r = await callOperator(w.ctx(), git, [
    withCreds("wrong-pass-99"),
    "/srv/src",
    { rev: "main" },
  ]);
  expect(r.result.rc).toBe(1);
  expect(r.result.error).toContain(`cannot read ${plain}`);
  expect(JSON.stringify(r.result)).not.toContain("wrong-pass-99");
});
