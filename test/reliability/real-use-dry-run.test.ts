// Dry run and diff as a user reads them (issue 12), with the real binary:
// --diff prints unified diffs under each changed command at every verbosity;
// a dry run says first that nothing was changed; a mode or owner change shows
// old and new; a dry run plans as if its earlier operations had happened
// (a user, a group, a directory, a file made earlier in the run); a dry run
// creates nothing, not even the agent's --path directory; and an agent whose
// --path directory was removed while it runs makes it again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, world, type World } from "../e2e/_harness.ts";
import { snapshot } from "./_tools.ts";

const isRoot = process.getuid?.() === 0;
/** A user and group that exist nowhere: useradd only plans them (dry run). */
const SVC = "saltydrysvc";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: {
    d1: { env: "lab", roles: ["conf", "mode", "owner", "plan", "mkuser", "usesuser"] },
    fresh: { env: "lab", roles: ["conf"] },
    gone: { env: "lab", roles: ["conf"] },
  } },
};
`,
  "roles/conf.ts": `export default async ({ render }) => { await render("app.conf", "/etc/app.conf", { mode: 0o600, vars: { name: "new" } }); };\n`,
  "roles/mode.ts": `export default async ({ copy }) => { await copy("motd", "/etc/motd", { mode: 0o600 }); };\n`,
  "roles/owner.ts": `export default async ({ copy }) => { await copy("motd", "/etc/owned", { user: "nobody", group: "nogroup" }); };\n`,
  "roles/plan.ts": `export default async ({ useradd, makedirs, usergroups, copy, render, lineInFile }) => {
  await useradd("${SVC}");
  await makedirs("/srv/x", { user: "${SVC}" });
  await makedirs("/srv/g", { group: "${SVC}", mode: 0o750 });
  await usergroups("${SVC}", ["${SVC}"]);
  await makedirs("/srv/app");
  await copy("motd", "/srv/app/motd");
  await render("app.conf", "/srv/app/app.conf", { vars: { name: "planned" } });
  await lineInFile("extra=1", "/srv/app/app.conf");
};
`,
  "roles/mkuser.ts": `export default async ({ useradd, makedirs }) => { await useradd("${SVC}"); await makedirs("/srv/data"); };\n`,
  "roles/usesuser.ts": `export default async ({ makedirs, copy }) => { await makedirs("/srv/data/own", { user: "${SVC}" }); await copy("motd", "/srv/data/motd"); };\n`,
  "files/app.conf": "port=80\nname=<%= name %>\n",
  "files/motd": "hello\n",
};

let w: World;
const apply = (...args: string[]) => w.salty(["apply", "--keyroot", w.keyroot, ...args]);
const sandbox = (rel = "") => join(w.sandbox("d1"), rel);

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("d1");
  await w.waitHosts(["d1"]);
  mkdirSync(sandbox("etc"), { recursive: true });
  writeFileSync(sandbox("etc/app.conf"), "port=80\nname=old\n", { mode: 0o644 });
  chmodSync(sandbox("etc/app.conf"), 0o644);
  writeFileSync(sandbox("etc/motd"), "hello\n");
  chmodSync(sandbox("etc/motd"), 0o644);
  writeFileSync(sandbox("etc/owned"), "hello\n");
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

const DIFF = [
  "      --- /etc/app.conf",
  "      +++ /etc/app.conf",
  "      @@ -1,2 +1,2 @@",
  "       port=80",
  "      -name=old",
  "      +name=new",
].join("\n");

describe("--diff is readable at every verbosity", () => {
  test.each([[[]], [["-v"]], [["-vv"]]] as string[][][])(
    "apply --dry-run --diff %p: the diff's lines under the command, no escaped string",
    async (v) => {
      const r = await apply(...v, "--dry-run", "--diff", "target=d1", "roles=conf");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // At -vv each command comes as it ends, its diff under it, prefixed with the host.
      const diff = v[0] === "-vv" ? DIFF.replace(/^/gm, "d1| ") : DIFF;
      expect(r.stdout).toContain(`\n${diff}\n`);
      expect(r.stdout).toContain("      /etc/app.conf: mode 0644 -> 0600\n");
      expect(r.stdout).not.toContain("\\n");
      expect(r.stdout).not.toContain('"diff"');
      expect(r.stdout).not.toContain("\x1b["); // not a terminal: plain
      if (v.length === 0 || v[0] === "-v")
        expect(r.stdout).toContain(
          "    render(app.conf, /etc/app.conf)\n      /etc/app.conf: mode",
        );
      else
        expect(r.stdout).toMatch(
          /^d1\| role:conf \{"cmd":"render\(app\.conf, \/etc\/app\.conf\)","rc":0,"changed":true,"created":false,"elapsed":[\d.]+,"output":"[^"]*"\}\nd1\| {7}\/etc\/app\.conf: mode/m,
        );
    },
  );

  test("--json keeps the diff as a field and has no banner", async () => {
    const r = await apply("--json", "--dry-run", "--diff", "target=d1", "roles=conf");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.hosts[0].roles[0].results[0].diff).toBe(
      "/etc/app.conf: mode 0644 -> 0600\n--- /etc/app.conf\n+++ /etc/app.conf\n@@ -1,2 +1,2 @@\n port=80\n-name=old\n+name=new\n",
    );
    expect(r.stdout).not.toContain("dry run:");
  });
});

describe("a dry run says so, and shows old and new", () => {
  test("the first line of a dry run's output is its banner (stdout); an apply has none", async () => {
    const r = await apply("--dry-run", "target=d1", "roles=mode");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("dry run: nothing was changed on any host");
    expect(r.stderr).toBe("");
  });

  test("a mode change shows old and new, in the dry run's output and in --diff", async () => {
    const r = await apply("-vv", "--dry-run", "target=d1", "roles=mode");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"output":"would chmod /etc/motd: mode 0644 -> 0600"');
    const d = await apply("--dry-run", "--diff", "target=d1", "roles=mode");
    expect(d.stdout).toContain("    copy(motd, /etc/motd)\n      /etc/motd: mode 0644 -> 0600\n");
  });

  test.skipIf(!isRoot)("an owner change shows old and new owner by name", async () => {
    const r = await apply("-vv", "--dry-run", "--diff", "target=d1", "roles=owner");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '"output":"would chown /etc/owned: owner root:root -> nobody:nogroup"',
    );
    expect(r.stdout).toContain("      /etc/owned: owner root:root -> nobody:nogroup\n");
  });
});

describe("a dry run plans as if its earlier operations had happened", () => {
  test("useradd then makedirs with that user and group, usergroups, a planned directory, a planned file: all planned, no error, nothing made", async () => {
    expect(Bun.spawnSync(["getent", "passwd", SVC]).exitCode).not.toBe(0);
    const before = snapshot(w.sandbox("d1"));
    const r = await apply("-vv", "--dry-run", "--diff", "target=d1", "roles=plan");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const results = r.stdout
      .split("\n")
      .filter((l) => /^(d1\| role:\S+ | {4})\{"cmd"/.test(l))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))))
      .filter((x) => x.cmd !== "...role skipped...");
    expect(results.map((x) => [x.cmd, x.rc, x.changed])).toEqual([
      [`useradd(${SVC})`, 0, true],
      [`makedirs(/srv/x, ${SVC}, 0o755)`, 0, true],
      ["makedirs(/srv/g, 0o750)", 0, true],
      [`usergroups(${SVC}, ${SVC})`, 0, true],
      ["makedirs(/srv/app, 0o755)", 0, true],
      ["copy(motd, /srv/app/motd)", 0, true],
      ["render(app.conf, /srv/app/app.conf)", 0, true],
      ["lineInFile(/srv/app/app.conf, extra=1)", 0, true],
    ]);
    expect(results[1].output).toMatch(
      new RegExp(`^would mkdir /srv 0755 \\S+\nwould mkdir /srv/x 0755 ${SVC}:${SVC}$`),
    );
    // /srv, planned by the first makedirs, is not planned again; the owner's planned group is found by name.
    expect(results[2].output).toEndWith(`:${SVC}`);
    expect(results[2].output).toStartWith("would mkdir /srv/g 0750 ");
    expect(results[2].output).not.toContain("\n");
    expect(results[3].output).toBe(`not run (dry run): usermod -G ${SVC} ${SVC}`);
    // The directory made by makedirs is not planned again by copy; the file rendered is what lineInFile edits.
    expect(results[5].output).toStartWith("would write /srv/app/motd (6 bytes) 0644 ");
    expect(results[5].output).not.toContain("\n");
    expect(r.stdout).toContain(
      "d1|       --- /srv/app/app.conf\nd1|       +++ /srv/app/app.conf\nd1|       @@ -1,2 +1,3 @@\nd1|        port=80\nd1|        name=planned\nd1|       +extra=1\n",
    );
    expect(snapshot(w.sandbox("d1"))).toEqual(before);
    expect(Bun.spawnSync(["getent", "passwd", SVC]).exitCode).not.toBe(0);
  });
});

describe("across the roles of one host", () => {
  test("a later role plans on what an earlier role of the same dry run planned (a user, a directory)", async () => {
    const r = await apply("-vv", "--dry-run", "target=d1", "roles=mkuser,usesuser");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const results = r.stdout
      .split("\n")
      .filter((l) => /^(d1\| role:\S+ | {4})\{"cmd"/.test(l))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))))
      .filter((x) => x.cmd !== "...role skipped...");
    expect(results.map((x) => [x.cmd, x.rc, x.output])).toEqual([
      [`useradd(${SVC})`, 0, expect.stringContaining("not run (dry run): ")],
      [
        "makedirs(/srv/data, 0o755)",
        0,
        expect.stringMatching(/^would mkdir \/srv 0755 \S+\nwould mkdir \/srv\/data 0755 \S+$/),
      ],
      [`makedirs(/srv/data/own, ${SVC}, 0o755)`, 0, `would mkdir /srv/data/own 0755 ${SVC}:${SVC}`],
      [
        "copy(motd, /srv/data/motd)",
        0,
        expect.stringMatching(/^would write \/srv\/data\/motd \(6 bytes\) 0644 \S+$/),
      ],
    ]);
  });

  test("the next dry run starts afresh", async () => {
    const r = await apply("-vv", "--dry-run", "target=d1", "roles=usesuser");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no such user: ${SVC}`);
  });
});

describe("the --path directory", () => {
  test("a dry run creates nothing, the agent's missing --path directory included", async () => {
    await w.startAgent("fresh");
    await w.waitHosts(["fresh"]);
    const r = await apply("--dry-run", "target=fresh", "roles=conf");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(w.sandbox("fresh"))).toBe(false);
  });

  test("salty bootstrap --dry-run of the example deployment: every role planned without an error, nothing created (no --path directory, no keys)", async () => {
    const box = join(w.dir, "bootstrap-box");
    const pass = readFileSync(join(REPO, "scripts/demo-crypto.pass"), "utf8").trim();
    const p = Bun.spawn(
      [
        w.bin,
        "bootstrap",
        "--dry-run",
        "--id",
        "web1.salty.test",
        "--path",
        join(box, "root"),
        "--fileroot",
        REPO,
        "--keyroot",
        join(box, "keys"),
      ],
      {
        env: { ...process.env, PASSWORD: pass },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe("dry run: nothing was changed on any host");
    expect(stdout).toMatch(/^host:web1\.salty\.test elapsed:\S+ errors:0 changed:[1-9]\d*$/m);
    expect(existsSync(box)).toBe(false);
  });

  test("an agent whose --path directory was removed while it runs makes it again, with its parents", async () => {
    await w.startAgent("gone");
    await w.waitHosts(["gone"]);
    expect((await apply("target=gone", "roles=conf")).code).toBe(0);
    rmSync(join(w.dir, "sandbox"), { recursive: true, force: true });
    const r = await apply("target=gone", "roles=conf");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(w.sandbox("gone"), "etc/app.conf"), "utf8")).toBe(
      "port=80\nname=new\n",
    );
  });
});
