// The role vocabulary of issue 16 end to end: the compiled binary as master
// and agent (root, as in CI: users and groups are real, made with unique
// names and deleted afterwards; files land in the agent's --path sandbox). One
// role uses group, user (with a crypt hash), authorizedKeys, file with
// validate, lineInFile with regexp, cron and shell's conditions: a dry run
// (with --diff) changes nothing and plans every call without an error, the
// first apply changes, the second changes nothing; the hash is never printed.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";

const isRoot = process.getuid?.() === 0;
const tag = `${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const USER = `sv-u-${tag}`,
  GROUP = `sv-g-${tag}`;
const HASH =
  "$6$e2esalt$Zt5m3oFqK1c7Xb2yQw9vR0uN4pL8sD6hJ1kG3fA5eT7iY2oU9wQ0zX4cV6bN8mM1aS3dF5gH7jK9lP0qW2eR.";
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2ePr0bHx9wZkFzdGtleWZvcnRlc3Rpbmdvbmx5 ci@build";

let w: World;
const apply = (...args: string[]) => w.salty(["apply", "-vv", "--keyroot", w.keyroot, ...args]);
const inBox = (p: string) => join(w.sandbox("web1"), p);

function role(sandbox: string): string {
  return `import type { Role } from "salty";
export default (async ({ group, user, authorizedKeys, file, lineInFile, cron, shell }) => {
  await group(${JSON.stringify(GROUP)}, { system: true });
  await user(${JSON.stringify(USER)}, { groups: [${JSON.stringify(GROUP)}], shell: "/bin/sh", comment: "Vocabulary", home: "/home/${USER}", createHome: false, password: ${JSON.stringify(HASH)} });
  await authorizedKeys(${JSON.stringify(USER)}, [${JSON.stringify(KEY)}], { exclusive: true });
  await file("/etc/app/app.env", { content: "PORT=8080\\nok\\n", mode: 0o640, validate: "grep -q ok %s" });
  await lineInFile("PermitRootLogin no", "/etc/ssh/sshd_config", { regexp: "^#?PermitRootLogin" });
  await cron("app-backup", { schedule: "30 2 * * *", command: "/usr/local/bin/backup", user: ${JSON.stringify(USER)} });
  await shell("mkdir -p ${sandbox}/opt/app && touch ${sandbox}/opt/app/.installed", { creates: "/opt/app/.installed" });
  await shell(["true"], { unless: ["test", "-e", "${sandbox}/opt/app/.installed"] });
  await shell("echo checking", { changed: false });
  const r = await shell(["echo", "nothing to do"], { changed: ({ output }) => !output.includes("nothing to do") });
  if (r.changed && !String(r.output).startsWith("not run (dry run)")) throw new Error("changed() was not applied in the agent");
}) satisfies Role;
`;
}

beforeAll(async () => {
  if (!isRoot) return;
  w = await world({
    files: {
      "hosts/index.ts": `export default { hosts: { lab: { web1: { env: "dev", roles: ["vocab"] } } } };\n`,
      "roles/vocab.ts": "export default async () => {};\n",
    },
  });
  writeFileSync(join(w.fileroot, "roles/vocab.ts"), role(w.sandbox("web1")));
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("web1");
  await w.waitHosts(["web1"]);
  // An sshd_config to edit, as on a real host.
  const etc = inBox("etc/ssh");
  Bun.spawnSync(["mkdir", "-p", etc]);
  writeFileSync(join(etc, "sshd_config"), "Port 22\n#PermitRootLogin prohibit-password\n");
});

afterAll(async () => {
  Bun.spawnSync(["userdel", USER], { stderr: "ignore" });
  Bun.spawnSync(["groupdel", USER], { stderr: "ignore" });
  Bun.spawnSync(["groupdel", GROUP], { stderr: "ignore" });
  await w?.[Symbol.asyncDispose]();
});

describe.skipIf(!isRoot)("the role vocabulary through the real binary", () => {
  test("dry run with --diff plans everything and touches nothing; apply changes; the second apply changes nothing", async () => {
    const dry = await apply("--dry-run", "--diff");
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:[1-9]/m);
    expect(dry.stdout).toContain(
      `not run (dry run): useradd --gid ${USER} --groups ${GROUP} --home-dir /home/${USER} --shell /bin/sh --comment Vocabulary --no-create-home ${USER}`,
    );
    expect(dry.stdout).toContain(`would mkdir /home/${USER}/.ssh 0700 ${USER}:${USER}`);
    expect(dry.stdout).toContain("validated by grep -q ok %s");
    expect(dry.stdout).toContain("+PermitRootLogin no");
    expect(existsSync(inBox("etc/app/app.env"))).toBe(false);
    expect(Bun.spawnSync(["getent", "passwd", USER]).exitCode).not.toBe(0);

    const first = await apply();
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:[1-9]/m);
    expect(readFileSync("/etc/shadow", "utf8")).toContain(`${USER}:${HASH}:`);
    expect(Bun.spawnSync(["id", "-nG", USER]).stdout.toString()).toContain(GROUP);
    const keys = inBox(`home/${USER}/.ssh/authorized_keys`);
    expect(readFileSync(keys, "utf8")).toBe(`${KEY}\n`);
    expect((statSync(keys).mode & 0o777).toString(8)).toBe("600");
    expect(statSync(keys).uid).toBe(Number(Bun.spawnSync(["id", "-u", USER]).stdout.toString()));
    expect(readFileSync(inBox("etc/app/app.env"), "utf8")).toBe("PORT=8080\nok\n");
    expect(readFileSync(inBox("etc/ssh/sshd_config"), "utf8")).toBe(
      "Port 22\nPermitRootLogin no\n",
    );
    expect(readFileSync(inBox("etc/cron.d/app-backup"), "utf8")).toBe(
      `# salty: cron(app-backup)\n30 2 * * * ${USER} /usr/local/bin/backup\n`,
    );
    expect(existsSync(inBox("opt/app/.installed"))).toBe(true);

    const second = await apply();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^host:web1 elapsed:\S+ errors:0 changed:0$/m);
    for (const out of [dry.stdout, dry.stderr, first.stdout, first.stderr, second.stdout])
      expect(out).not.toContain("e2esalt");
  });
});
