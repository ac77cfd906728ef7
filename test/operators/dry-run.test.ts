// --dry-run and --diff through the role-facing operators: nothing written or
// run, results say what would change.

import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createOperators } from "../../lib/operators/index.ts";
import { createUsers } from "../../lib/sys/users.ts";
import { baseContext, makeWorld } from "./_world.ts";

const addresses = { myIp: () => "10.0.0.1", getIps: () => ["10.0.0.1"] };

test("a dry run changes nothing, runs nothing, and says what it would do", async () => {
  using w = await makeWorld({ master: { "files/a.conf": "a\n", "files/t.conf": "ip=<%= myIp() %> <%= getIps('x').length %>\n" }, fs: { "/etc/old": "x\n" } });
  const { operators: op, results } = createOperators(w.ctx({ dryRun: true, diff: true }), baseContext, { addresses });
  await op.copy("a.conf", "/etc/app/a.conf", { mode: 0o600 });
  const t = await op.render("t.conf", "/etc/t.conf");
  await op.remove("/etc/old");
  const sh = await op.shell(`touch ${join(w.prefix, "ran")}`);
  expect(results.map((r) => [r.rc, r.changed])).toEqual([[0, true], [0, true], [0, true], [0, true]]);
  const users = createUsers();
  const me = `${(await users.userName(process.getuid!())) ?? process.getuid!()}:${(await users.groupName(process.getgid!())) ?? process.getgid!()}`;
  expect(results[0]!.output).toBe(`would mkdir /etc/app 0755 ${me}\nwould write /etc/app/a.conf (2 bytes) 0600 ${me}`);
  expect(t.diff).toBe("--- /dev/null\n+++ /etc/t.conf\n@@ -0,0 +1 @@\n+ip=10.0.0.1 1\n");
  expect(sh.output).toStartWith("not run (dry run): /bin/sh -c touch ");
  expect(existsSync(join(w.prefix, "ran"))).toBe(false);
  expect(existsSync(join(w.prefix, "etc/old"))).toBe(true);
  expect(existsSync(join(w.prefix, "etc/app"))).toBe(false);
});
