// --dry-run and --diff through the role-facing operators: nothing written or
// run, results say what would change.

import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createOperators } from "../../lib/operators/index.ts";
import { createUsers } from "../../lib/sys/users.ts";
import { baseContext, makeWorld } from "./_world.ts";

const addresses = { myIp: () => "10.0.0.1", getIps: () => ["10.0.0.1"] };

test("a dry run changes nothing, runs nothing, and says what it would do", async () => {
  using w = await makeWorld({
    master: {
      "files/a.conf": "a\n",
      "files/t.conf": "ip=<%= myIp() %> <%= getIps('x').length %>\n",
    },
    fs: { "/etc/old": "x\n" },
  });
  const { operators: op, results } = createOperators(
    w.ctx({ dryRun: true, diff: true }),
    baseContext,
    { addresses },
  );
  await op.copy("a.conf", "/etc/app/a.conf", { mode: 0o600 });
  const t = await op.render("t.conf", "/etc/t.conf");
  await op.remove("/etc/old");
  const sh = await op.shell(`touch ${join(w.prefix, "ran")}`);
  expect(results.map((r) => [r.rc, r.changed])).toEqual([
    [0, true],
    [0, true],
    [0, true],
    [0, true],
  ]);
  const users = createUsers();
  const me = `${(await users.userName(process.getuid!())) ?? process.getuid!()}:${(await users.groupName(process.getgid!())) ?? process.getgid!()}`;
  expect(results[0]!.output).toBe(
    `would mkdir /etc/app 0755 ${me}\nwould write /etc/app/a.conf (2 bytes) 0600 ${me}`,
  );
  expect(t.diff).toBe("--- /dev/null\n+++ /etc/t.conf\n@@ -0,0 +1 @@\n+ip=10.0.0.1 1\n");
  expect(sh.output).toStartWith("not run (dry run): /bin/sh -c touch ");
  expect(existsSync(join(w.prefix, "ran"))).toBe(false);
  expect(existsSync(join(w.prefix, "etc/old"))).toBe(true);
  expect(existsSync(join(w.prefix, "etc/app"))).toBe(false);
});

describe("a dry run plans on what its earlier calls planned (operators/planned.ts)", () => {
  const dry = async (o: Parameters<typeof makeWorld>[0]) => {
    const w = await makeWorld({ ...o, dryRun: true, diff: true });
    return { w, ...createOperators(w.ctx(), baseContext, { addresses }) };
  };

  test("a file removed earlier can become a directory's place: no 'exists and is not a directory'", async () => {
    const { w, operators: op } = await dry({
      master: { "files/a.conf": "a\n" },
      fs: { "/etc/old": "x\n" },
    });
    using _ = w;
    await op.remove("/etc/old");
    const r = await op.copy("a.conf", "/etc/old/a.conf");
    expect(r.error).toBeUndefined();
    expect(r.output).toStartWith("would mkdir /etc/old 0755 ");
    expect(existsSync(join(w.prefix, "etc/old"))).toBe(true);
  });

  test("a syncdir into a directory makedirs planned fetches every file and plans the directory once", async () => {
    const { w, operators: op } = await dry({
      master: { "files/site/a.html": "a\n", "files/site/css/b.css": "b\n" },
    });
    using _ = w;
    await op.makedirs("/srv/site");
    const r = await op.syncdir("files/site", "/srv/site");
    expect(r.error).toBeUndefined();
    expect(r.changes).toMatchObject({ added: 2, updated: 0, removed: 0 });
    expect(r.output).not.toContain("mkdir /srv/site ");
    expect(r.output).toContain("would mkdir /srv/site/css ");
  });

  test("a mode planned earlier is not planned again", async () => {
    const { w, operators: op } = await dry({ fs: { "/etc/d": { dir: true, mode: "0755" } } });
    using _ = w;
    expect((await op.makedirs("/etc/d", { mode: 0o700 })).output).toBe(
      "would chmod /etc/d: mode 0755 -> 0700",
    );
    const again = await op.makedirs("/etc/d", { mode: 0o700 });
    expect([again.changed, again.output]).toEqual([false, undefined]);
  });

  test("a link planned earlier is what a later symlink call finds; a file rendered earlier is what lineInFile edits", async () => {
    const { w, operators: op } = await dry({ master: { "files/t.conf": "a=1\n" } });
    using _ = w;
    await op.symlink("/opt/releases/1", "/srv/current");
    expect((await op.symlink("/opt/releases/1", "/srv/current")).changed).toBe(false);
    await op.render("t.conf", "/etc/t.conf");
    const r = await op.lineInFile("b=2", "/etc/t.conf");
    expect(r.diff).toBe("--- /etc/t.conf\n+++ /etc/t.conf\n@@ -1 +1,2 @@\n a=1\n+b=2\n");
  });

  test("a file an earlier call would fetch (content unknown) cannot be edited: a clear error, not a guess", async () => {
    const big = "x".repeat(5 * 1024 * 1024) + "\n"; // over limits.inlineFileBytes: fetched when applied
    const { w, operators: op } = await dry({ master: { "files/big.txt": big } });
    using _ = w;
    await op.copy("big.txt", "/etc/big.txt");
    const r = await op.lineInFile("y", "/etc/big.txt");
    expect(r.rc).toBe(1);
    expect(r.error).toContain(
      "what an earlier command of this dry run puts there is not known until it is fetched",
    );
  });
});
