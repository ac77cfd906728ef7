// serverShell runs on the master only when it allows it, only for a role being
// run, and only a command the fileroot declares (server/NAME) with JSON args.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";

const files = {
  "hosts/index.ts": `export default { envs: { x: {} }, hosts: { lab: { a1: { env: "x", roles: ["probe"] } } } };\n`,
  "roles/probe.ts": `export default async ({ serverShell, print }) => {\n  const r = await serverShell("where", ["a b", 3]);\n  print(r.output ?? "");\n};\n`,
  "server/where": `#!/bin/sh\necho "on-master agent=$SALTY_AGENT role=$SALTY_ROLE argv=$1|$2 json=$SALTY_ARGS"\npwd\n`,
};
let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

async function started(extra: string[]): Promise<World> {
  const x = await world({ files });
  chmodSync(join(x.fileroot, "server/where"), 0o755);
  await x.startMaster(["--auto-accept", ...extra]);
  await x.startAgent("a1");
  await x.waitHosts(["a1"]);
  return x;
}

test("without --allow-server-shell the master refuses: rc 1, a clear error", async () => {
  w = await started([]);
  const r = await w.salty(["apply", "--keyroot", w.keyroot]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /"cmd":"serverShell\(where, \[\\"a b\\",3\]\)","rc":1.*serverShell is refused: the master runs without --allow-server-shell/,
  );
});

test("with --allow-server-shell the declared command runs on the master, in the fileroot, with its args; the call is logged", async () => {
  w = await started(["--allow-server-shell"]);
  const r = await w.salty(["apply", "-vv", "--keyroot", w.keyroot]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('"cmd":"serverShell(where, [\\"a b\\",3])","rc":0,"changed":true');
  expect(r.stdout).toContain(
    `| on-master agent=a1 role=probe argv=a b|3 json=["a b",3]\n    | ${realpathSync(w.fileroot)}\n`,
  );
  expect(w.master!.output).toMatch(/master\.server_shell id=a1 role=probe command=where rc=0/);
});

test("a fileroot without server/ declares no command: rc 1 naming it", async () => {
  const { "server/where": _, ...withoutServer } = files;
  w = await world({ files: withoutServer });
  await w.startMaster(["--auto-accept", "--allow-server-shell"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
  const r = await w.salty(["apply", "--keyroot", w.keyroot]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    "no command server/where on the master (its fileroot has no server/ directory)",
  );
});
