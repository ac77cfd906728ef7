// Issue 12 "Data loss and secrets" and issue 13 item 14, against the real
// binary: syncdir never deletes what `exclude` protects and says what it did;
// no secret value (a NACL[...] var, an .enc file, a sensitive operator's
// output) reaches the apply's output, the master's log or the agent's log; a
// shell child never inherits the daemon's password variables.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Result } from "salty";
import { world, type World } from "../e2e/_harness.ts";

let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

const inventory = (roles: string[]) => `export default { envs: { x: {} }, hosts: { lab: { a1: { env: "x", roles: ${JSON.stringify(roles)} } } } };\n`;

/** The results of role `role` on a1 in an `apply --json` report. */
function results(stdout: string, role: string): Result[] {
  const report = JSON.parse(stdout) as { hosts: Array<{ id: string; roles: Array<{ role: string; results: Result[] }> }> };
  return report.hosts.find((h) => h.id === "a1")!.roles.find((r) => r.role === role)!.results;
}

async function started(files: Record<string, string>, opts: { password?: string } = {}): Promise<World> {
  w = await world({ files, ...opts });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
  return w;
}

test("D1: syncdir keeps an excluded path and the directory holding it; dry run and apply agree, counts included", async () => {
  const w = await started({
    "hosts/index.ts": inventory(["sync"]),
    "roles/sync.ts": `export default async ({ syncdir }) => { await syncdir("files/sync/t", "/d", { exclude: ["keep/x.txt"] }); };\n`,
    "files/sync/t/a.txt": "a\n",
  });
  const d = join(w.sandbox("a1"), "d");
  mkdirSync(join(d, "keep"), { recursive: true });
  writeFileSync(join(d, "keep", "x.txt"), "precious\n");
  writeFileSync(join(d, "keep", "junk.txt"), "junk\n");
  const dry = await w.salty(["apply", "--json", "--dry-run", "-vv", "--keyroot", w.keyroot]);
  expect(dry.code).toBe(0);
  const [planned] = results(dry.stdout, "sync");
  const lines = planned!.output!.split("\n");
  expect(lines).not.toContain("would remove /d/keep");
  expect(lines).toContain("would remove /d/keep/junk.txt");
  expect(planned!.changes).toEqual({ added: 1, updated: 0, removed: 1 });
  expect(readFileSync(join(d, "keep", "junk.txt"), "utf8")).toBe("junk\n");

  const real = await w.salty(["apply", "--json", "--keyroot", w.keyroot]);
  expect(real.code).toBe(0);
  const [done] = results(real.stdout, "sync");
  expect(done!.changes).toEqual(planned!.changes!);
  expect(readFileSync(join(d, "keep", "x.txt"), "utf8")).toBe("precious\n");
  expect(existsSync(join(d, "keep", "junk.txt"))).toBe(false);
  expect(readFileSync(join(d, "a.txt"), "utf8")).toBe("a\n");
});

test("D2: a syncdir that only fixes a mode or removes a directory says so in its counts", async () => {
  const w = await started({
    "hosts/index.ts": inventory(["sync"]),
    "roles/sync.ts": `export default async ({ syncdir }) => { await syncdir("files/sync/t", "/d"); };\n`,
    "files/sync/t/a.txt": "a\n",
  });
  expect((await w.salty(["apply", "--keyroot", w.keyroot])).code).toBe(0);
  const d = join(w.sandbox("a1"), "d");
  chmodSync(join(d, "a.txt"), 0o600);
  mkdirSync(join(d, "old"));
  // The line -vv prints says it, in a dry run as in the apply.
  const vv = await w.salty(["apply", "-vv", "--dry-run", "--keyroot", w.keyroot]);
  expect(vv.code).toBe(0);
  expect(vv.stdout).toContain('"changes":{"added":0,"updated":0,"removed":0,"fixed":1,"dirsRemoved":1}');
  const r = await w.salty(["apply", "--json", "--keyroot", w.keyroot]);
  expect(r.code).toBe(0);
  const [res] = results(r.stdout, "sync");
  expect(res!.changed).toBe(true);
  expect(res!.changes).toEqual({ added: 0, updated: 0, removed: 0, fixed: 1, dirsRemoved: 1 });
  expect(existsSync(join(d, "old"))).toBe(false);
});

test("S14: a shell child of the agent, and a serverShell child of the master, never inherit $PASSWORD or $SALTY_PASSWORD", async () => {
  const env = { PASSWORD: "daemon-password-1f4c", SALTY_PASSWORD: "daemon-salty-password-9d2e" };
  w = await world({
    env,
    files: {
      "hosts/index.ts": inventory(["probe"]),
      "roles/probe.ts": `export default async ({ shell, serverShell }) => {
  await shell('echo "agent pw=[$PASSWORD] spw=[$SALTY_PASSWORD]"; env');
  await serverShell('echo "master pw=[$PASSWORD] spw=[$SALTY_PASSWORD]"; env');
};\n`,
    },
  });
  await w.startMaster(["--auto-accept", "--allow-server-shell"]);
  await w.startAgent("a1");
  await w.waitHosts(["a1"]);
  const r = await w.salty(["apply", "--json", "--keyroot", w.keyroot]);
  expect(r.code).toBe(0);
  const [agent, master] = results(r.stdout, "probe");
  expect(agent!.output).toContain("agent pw=[] spw=[]");
  expect(master!.output).toContain("master pw=[] spw=[]");
  // The variables are really there: the daemons were started with them (the client too).
  for (const v of Object.values(env)) expect(r.stdout).not.toContain(v);
  // `SALTY_TIMING` comes through, so the children do get the rest of the environment.
  expect(agent!.output).toContain("SALTY_TIMING=");
});
