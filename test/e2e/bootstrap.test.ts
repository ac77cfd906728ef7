// salty bootstrap: this repo's example deployment applied by the compiled binary
// to this host alone, with no master process, no keys and no network.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO, binary } from "./_harness.ts";
import { tempDirForFile } from "../_temp.ts";

const dir = tempDirForFile("salty-bootstrap-");

async function bootstrap(...extra: string[]) {
  const p = Bun.spawn(
    [
      await binary(),
      "bootstrap",
      "--id",
      "web1.salty.test",
      "--path",
      join(dir, "root"),
      "--fileroot",
      REPO,
      "--keyroot",
      join(dir, "keys"),
      ...extra,
    ],
    {
      env: {
        ...process.env,
        PASSWORD: readFileSync(join(REPO, "scripts/demo-crypto.pass"), "utf8").trim(),
      },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

test("bootstrap applies this host's roles with bootstrap=true, then finds nothing to do", async () => {
  const first = await bootstrap("-vv");
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^host:web1\.salty\.test elapsed:\S+ errors:0 changed:\d+$/m);
  expect(first.stdout).not.toContain("web2.salty.test elapsed");
  // bootstrap=true: the supervisord role renders its config but restarts nothing.
  expect(first.stdout).toContain(
    "render(supervisord/supervisord.conf, /opt/demo/supervisord/supervisord.conf)",
  );
  expect(first.stdout).not.toContain("supervisorctl");
  const key = join(dir, "root/opt/demo/etc/nginx/ssl/demo.key");
  expect(readFileSync(key, "utf8")).toContain("BEGIN DEMO KEY");
  expect(statSync(key).mode & 0o777).toBe(0o600);
  expect(readFileSync(join(dir, "root/opt/demo/etc/app.conf"), "utf8")).toContain(
    "password = s3cret-db-pass",
  );
  expect(existsSync(join(dir, "root/opt/demo/static/drafts"))).toBe(false);

  const second = await bootstrap("-v");
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/^host:web1\.salty\.test elapsed:\S+ errors:0 changed:0$/m);
});

test("a host that is not in the inventory is a clear error", async () => {
  const p = Bun.spawn(
    [
      await binary(),
      "bootstrap",
      "--id",
      "nobody",
      "--path",
      join(dir, "x"),
      "--fileroot",
      REPO,
      "--keyroot",
      join(dir, "keys"),
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, PASSWORD: "x" } },
  );
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  expect(code).toBe(1);
  expect(stderr).toMatch(/^salty: host nobody is not in .*hosts\/index\.ts$/m);
});
