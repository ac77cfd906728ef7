// serverShell runs on the master only when it allows it, and only for a role being run.
import { afterEach, expect, test } from "bun:test";
import { world, type World } from "./_harness.ts";

const files = {
  "hosts/index.ts": `export default { envs: { x: {} }, hosts: { lab: { a1: { env: "x", roles: ["probe"] } } } };\n`,
  "roles/probe.ts": `export default async ({ serverShell, print }) => {\n  const r = await serverShell("echo on-master $SALTY_E2E_MARK; pwd");\n  print(r.output ?? "");\n};\n`,
};
let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

test("without --allow-server-shell the master refuses: rc 1, a clear error", async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
  const r = await w.salty(["apply", "--keyroot", w.keyroot]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/"cmd":"serverShell\(echo on-master \$SALTY_E2E_MARK; pwd\)","rc":1.*serverShell is refused: the master runs without --allow-server-shell/);
});

test("with --allow-server-shell the command runs on the master and its output comes back", async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept", "--allow-server-shell"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
  const r = await w.salty(["apply", "-vv", "--keyroot", w.keyroot]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('"cmd":"serverShell(echo on-master $SALTY_E2E_MARK; pwd)","rc":0,"changed":true');
  expect(r.stdout).toContain("| on-master");
});
