// Issue 12 "Data loss and secrets" and issue 13 item 14, against the real
// binary: syncdir never deletes what `exclude` protects and says what it did;
// no secret value (a NACL[...] var, an .enc file, a sensitive operator's
// output) reaches the apply's output, the master's log or the agent's log; a
// shell child never inherits the daemon's password variables.
import { afterEach, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Result } from "salty";
import { deriveKey, encryptBytes, encryptString } from "../../lib/crypto/secrets.ts";
import { masker } from "../../lib/crypto/mask.ts";
import { world, type World } from "../e2e/_harness.ts";

let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

const inventory = (roles: string[]) =>
  `export default { envs: { x: {} }, hosts: { lab: { a1: { env: "x", roles: ${JSON.stringify(roles)} } } } };\n`;

/** The results of role `role` on a1 in an `apply --json` report. */
function results(stdout: string, role: string): Result[] {
  const report = JSON.parse(stdout) as {
    hosts: Array<{ id: string; roles: Array<{ role: string; results: Result[] }> }>;
  };
  return report.hosts.find((h) => h.id === "a1")!.roles.find((r) => r.role === role)!.results;
}

async function started(
  files: Record<string, string>,
  opts: { password?: string } = {},
): Promise<World> {
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
  expect(vv.stdout).toContain(
    '"changes":{"added":0,"updated":0,"removed":0,"fixed":1,"dirsRemoved":1}',
  );
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
  await serverShell("probe", []);
};\n`,
      "server/probe": `#!/bin/sh\necho "master pw=[$PASSWORD] spw=[$SALTY_PASSWORD]"\nenv\n`,
    },
  });
  chmodSync(join(w.fileroot, "server/probe"), 0o755);
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

// --- Secrets never shown ------------------------------------------------------

const PASSWORD = "p".repeat(40);
const DB_PASSWORD = "s3cret-db-Pw-7781";
const API_TOKEN = "tok-AAAA-5531-zzzz";
const PEM = "-----BEGIN KEY-----\nMIIBsecretLineOne0001\nMIIBsecretLineTwo0002\n-----END KEY-----";
const ENC_FILE = "ENC-PLAINTEXT-9931 only the agent may know\n";
const ENC_TEMPLATE = "ENC-TEMPLATE-4417 <%= id %>\n";
const SENSITIVE = "SENSITIVE-OUTPUT-6620";
/** Every value that must never be shown, and pieces of them. */
const NEVER = [
  DB_PASSWORD,
  API_TOKEN,
  "MIIBsecretLineOne0001",
  "MIIBsecretLineTwo0002",
  "ENC-PLAINTEXT-9931",
  "ENC-TEMPLATE-4417",
  SENSITIVE,
];

function secretWorld(): Promise<World> {
  const key = deriveKey(PASSWORD);
  const files = {
    "hosts/index.ts": `export default { envs: { x: { db_password: "${encryptString(DB_PASSWORD, key)}", nested: { api: ["${encryptString(API_TOKEN, key)}"] }, pem: "${encryptString(PEM, key)}", port: 5432 } }, hosts: { lab: { a1: { env: "x", roles: ["app"] } } } };\n`,
    "files/app/app.conf":
      "user=app\npassword=<%= me.vars.db_password %>\nport=<%= me.vars.port %>\ntoken=<%= me.vars.nested.api[0] %>\n<%= me.vars.pem %>\nend\n",
    "roles/app.ts": `export default async ({ copy, render, lineInFile, shell, print, me }) => {
  const pw = me.vars.db_password;
  await copy("app/secret.key", "/etc/app/secret.key");
  await render("app/app.conf", "/etc/app/app.conf");
  await render("app/tpl.conf", "/etc/app/tpl.conf");
  await lineInFile("pw=" + pw, "/etc/app/line.conf");
  await shell("echo the password is " + pw + " and the token " + ${JSON.stringify(API_TOKEN.slice(0, 4))} + "${API_TOKEN.slice(4)}");
  await shell("echo SENSITIVE-OUTPUT-$((6000+620)); echo SENSITIVE-OUTPUT-$((6000+620)) >&2; exit 3", { sensitive: true });
  await render("app/app.conf", "/etc/app/hidden.conf", { sensitive: true });
  await shell("echo failing with " + pw + " >&2; exit 4");
  print("printed " + pw);
  throw new Error("gave up holding " + pw);
};\n`,
  };
  return (async () => {
    w = await world({ files, password: PASSWORD });
    writeFileSync(
      join(w.fileroot, "files/app/secret.key.enc"),
      encryptBytes(new TextEncoder().encode(ENC_FILE), key),
    );
    writeFileSync(
      join(w.fileroot, "files/app/tpl.conf.enc"),
      encryptBytes(new TextEncoder().encode(ENC_TEMPLATE), key),
    );
    await w.startMaster(["--auto-accept"]);
    await w.startAgent("a1");
    await w.waitHosts(["a1"]);
    return w;
  })();
}

function expectNoSecret(text: string, where: string): void {
  for (const v of NEVER) expect(text.includes(v), `${where} shows ${v}:\n${text}`).toBe(false);
}

test("D3-D6: no secret value in apply --json --dry-run --diff -vv, in a real apply, nor in the master's or the agent's log", async () => {
  const w = await secretWorld();
  const dry = await w.salty([
    "apply",
    "--json",
    "--dry-run",
    "--diff",
    "-vv",
    "--keyroot",
    w.keyroot,
  ]);
  expect(dry.code).toBe(1); // the role throws, and two commands fail, on purpose
  expectNoSecret(dry.stdout + dry.stderr, "dry run");
  const [copy, conf, tpl, line, echo, sensitive, hidden, failing, thrown] = results(
    dry.stdout,
    "app",
  );
  // D3: the .enc copy and the .enc template say their diff is secret.
  expect(copy!.diff).toBe("(secret content: diff not shown)\n");
  expect(tpl!.diff).toBe("(secret content: diff not shown)\n");
  // D4: a rendered file holding secrets shows its diff, each line holding one masked.
  expect(conf!.diff).toContain("+user=app\n");
  expect(conf!.diff).toContain("+port=5432\n");
  expect(conf!.diff).toContain("+******** (a line holding a secret)\n");
  expect(conf!.diff).toContain("+end\n");
  expect(line!.diff).toContain("+******** (a line holding a secret)");
  expect(line!.cmd).toContain("pw=********");
  // A dry run does not run commands: their text is masked in what it would run.
  expect(echo!.output).toContain("the password is ********");
  // D5: sensitive: neither output nor diff.
  expect(sensitive!.output).toBe("(sensitive: output hidden)");
  expect(hidden!.diff).toBe("(sensitive: diff not shown)\n");
  expect(failing!.output).toContain("failing with ********");
  expect(thrown!.error).toContain("gave up holding ********");

  const real = await w.salty(["apply", "--diff", "-vv", "--keyroot", w.keyroot]);
  expect(real.code).toBe(1);
  expectNoSecret(real.stdout + real.stderr, "apply");
  expect(real.stdout + real.stderr).toContain("the password is ******** and the token ********");
  expect(real.stdout + real.stderr).toContain('"output":"(sensitive: output hidden)"');
  expect(real.stdout + real.stderr).toContain("| printed ********");
  const json = await w.salty(["apply", "--json", "--diff", "-vv", "--keyroot", w.keyroot]);
  expectNoSecret(json.stdout + json.stderr, "second apply");
  // The files themselves hold the secrets: masking is only in what is shown.
  const sb = w.sandbox("a1");
  expect(readFileSync(join(sb, "etc/app/secret.key"), "utf8")).toBe(ENC_FILE);
  expect(readFileSync(join(sb, "etc/app/app.conf"), "utf8")).toContain(`password=${DB_PASSWORD}\n`);
  expect(readFileSync(join(sb, "etc/app/line.conf"), "utf8")).toBe(`pw=${DB_PASSWORD}\n`);
  // Nor in the history (salty jobs, and the database's own bytes).
  let jobs: Array<{ id: string; status: string }> = [];
  for (let i = 0; i < 100 && jobs.filter((j) => j.status !== "running").length < 3; i++) {
    const list = await w.salty(["jobs", "--json", "--keyroot", w.keyroot]);
    jobs = list.code === 0 ? JSON.parse(list.stdout) : [];
    if (jobs.length < 3) await Bun.sleep(100);
  }
  expect(jobs.length).toBeGreaterThanOrEqual(3);
  for (const j of jobs) {
    const shown = await w.salty(["jobs", "show", j.id, "-vv", "--diff", "--keyroot", w.keyroot]);
    expect(shown.stdout + shown.stderr).toContain("********");
    expectNoSecret(shown.stdout + shown.stderr, `salty jobs show ${j.id}`);
  }
  const stored = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? stored(join(dir, e.name))
        : e.isFile()
          ? [readFileSync(join(dir, e.name), "latin1")]
          : [],
    );
  expectNoSecret(stored(w.keyroot).join("\n"), "the keyroot (history database, spool)");
  // Nor in the daemons' logs.
  expectNoSecret(w.master!.output, "the master's log");
  expectNoSecret(w.agents.get("a1")!.output, "the agent's log");
});

test("masking: every occurrence in text, whole diff lines, each line of a multi-line secret; nothing to mask costs nothing", () => {
  expect(masker([])).toBeUndefined();
  expect(masker(["", 5])).toBeUndefined();
  const m = masker(["hunter2", "line-one-xx\nline-two-yy\n}"])!;
  expect(m.text("a hunter2 b hunter2")).toBe("a ******** b ********");
  expect(m.text("x line-two-yy }")).toBe("x ******** }");
  expect(m.diff("--- /a\n+++ /a\n@@ -1,2 +1,2 @@\n-pw=old\n+pw=hunter2\n context\n")).toBe(
    "--- /a\n+++ /a\n@@ -1,2 +1,2 @@\n-pw=old\n+******** (a line holding a secret)\n context\n",
  );
});

test("D3: the master masks a report again: an agent that sends a host's secret back unmasked (old or compromised) shows nothing", async () => {
  const { memoryPair } = await import("../../lib/wire/memory.ts");
  const { Registry } = await import("../../lib/master/registry.ts");
  const { serveAgent } = await import("../../lib/master/agent-session.ts");
  const { FileServer } = await import("../../lib/master/fileserver.ts");
  const { serveMaster } = await import("../../lib/agent/session.ts");
  const { runApply } = await import("../../lib/master/scheduler.ts");
  const { setLogSink } = await import("../../lib/log.ts");
  const logged: string[] = [];
  setLogSink((l) => logged.push(l));
  const registry = new Registry();
  const [m, a] = memoryPair(["agent-a", "master"]);
  serveAgent(m, "a", {
    registry,
    files: new FileServer({ fileroot: import.meta.dir, keyroot: "/nonexistent" }),
    version: "test",
  });
  let received: string[] | undefined;
  void serveMaster(a, {
    gatherFacts: async () => ({ kernel: "Linux", hostname: "t" }) as never,
    version: "test",
    execute: async (req) => {
      received = req.secrets;
      const leak = `echo ${DB_PASSWORD}`;
      return {
        role: req.role,
        elapsed: 0,
        output: `printed ${DB_PASSWORD}`,
        results: [
          {
            cmd: `shell(${leak})`,
            rc: 1,
            changed: true,
            elapsed: 0,
            output: DB_PASSWORD,
            error: leak,
            diff: `--- /x\n+++ /x\n@@ -0,0 +1 @@\n+pw=${DB_PASSWORD}\n`,
          },
        ],
      };
    },
  });
  for (let i = 0; i < 200 && registry.size === 0; i++) await Bun.sleep(5);
  const report = await runApply(
    { args: [], dryRun: false, diff: true },
    {
      registry,
      scope: async () => ({
        hosts: [{ id: "a", status: "run", roles: [{ name: "app", skipped: false }] }],
        context: (id, role) => ({ id, role }) as never,
        secrets: () => [DB_PASSWORD],
      }),
      roleSource: async () => ({ source: "", filename: "roles/app.ts" }),
    },
  );
  setLogSink((l) => process.stderr.write(`${l}\n`));
  expect(received).toEqual([DB_PASSWORD]);
  const shown = JSON.stringify(report);
  expect(shown).not.toContain(DB_PASSWORD);
  expect(report.hosts[0]!.roles[0]!.results[0]!.diff).toContain(
    "+******** (a line holding a secret)",
  );
  expect(report.hosts[0]!.roles[0]!.output).toBe("printed ********");
  expectNoSecret(logged.join("\n"), "the master's log");
});
