// Bad input from the fileroot, with real processes: roles that do not load,
// throw, never end or print 100 MB; a template using an undefined name; an
// inventory that does not load, names an unknown env or one host twice;
// secrets under the wrong crypto.pass or cut short. Each gives rc 1 and one
// clear error naming the file, and the master and the agent keep serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deriveKey, encryptBytes, encryptString } from "../../lib/crypto/secrets.ts";
import { world, type World } from "../e2e/_harness.ts";
import { procStats } from "./_tools.ts";

const RIGHT = "the-password-the-secrets-were-made-with-0123456789";
const WRONG = "another-password-entirely-0123456789abcdefghijklmn";
const right = deriveKey(RIGHT);
const secret = encryptString("s3cret-db-pass", right);

const inventory = (vars = "{}") => `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { r1: { env: "lab", roles: ["ok", "bad", "throws", "forever", "loud", "noisy", "tpl", "vault"], vars: ${vars} } } },
};
`;

const files: Record<string, string> = {
  "hosts/index.ts": inventory(),
  "roles/ok.ts": `export default async ({ copy }) => { await copy("ok/motd", "/etc/motd"); };\n`,
  "roles/bad.ts": `export default async ({ copy }) => {\n  await copy("ok/motd", ;\n};\n`,
  "roles/throws.ts": `export default async ({ print }) => {\n  print("before");\n  throw new Error("the role gave up");\n};\n`,
  "roles/forever.ts": `export default async ({ print }) => {\n  print("spinning");\n  for (;;) await null;\n};\n`,
  "roles/loud.ts": `export default async ({ print, copy, mb, times }) => {
  for (let i = 0; i < (times ?? 1); i++) print("x".repeat(mb * 1024 * 1024));
  await copy("ok/motd", "/etc/after-print");
};\n`,
  "roles/noisy.ts": `export default async ({ shell, copy }) => {
  for (let i = 0; i < 40; i++) await shell("head -c 2000000 /dev/zero | tr '\\\\0' x");
  await copy("ok/motd", "/etc/after-noise");
};\n`,
  "roles/tpl.ts": `export default async ({ render }) => { await render("tpl/undef.conf", "/etc/undef.conf"); };\n`,
  "roles/vault.ts": `export default async ({ copy, me }) => {
  await copy("vault/key", "/etc/vault.key");
  if (me.vars.db) await copy("ok/motd", "/etc/got-the-secret");
};\n`,
  "files/ok/motd": "hello\n",
  "files/tpl/undef.conf": "name=<%= id %>\nport=<%= nothere %>\n",
};

let w: World;
const apply = (...args: string[]) =>
  w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=r1", ...args]);
const agentPid = () => w.agents.get("r1")!.proc.pid;

beforeAll(async () => {
  w = await world({ files, password: RIGHT });
  mkdirSync(join(w.fileroot, "files/vault"));
  writeFileSync(
    join(w.fileroot, "files/vault/key.enc"),
    encryptBytes(new TextEncoder().encode("vault key\n"), right),
  );
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("r1");
  await w.waitHosts(["r1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

/** The master and the agent still serve: a good role applies. */
async function stillServing(): Promise<void> {
  const r = await apply("roles=ok");
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

describe("roles and templates", () => {
  test("a syntax error: rc 1 naming the file and line; the other roles run", async () => {
    const r = await apply("roles=ok,bad");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"cmd":"role\(bad\)","rc":1.*"error":"roles\/bad\.ts:2:[^"]*"/);
    expect(r.stdout + r.stderr).toMatch(/copy\(ok\/motd, \/etc\/motd\)","rc":0/);
    await stillServing();
  });

  test("a throw: rc 1 naming the file, line and message; what it printed and did before is kept", async () => {
    const r = await apply("roles=throws");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"role\(throws\)","rc":1.*"error":"roles\/throws\.ts:3: the role gave up"/,
    );
    expect(r.stdout + r.stderr).toMatch(/^ {4}\| before$/m);
    await stillServing();
  });

  test("a role that never ends (awaiting in a loop): rc 1 at its timeout; the agent keeps serving", async () => {
    const r = await apply("roles=forever", "--timeout", "1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"role\(forever\)","rc":1.*"error":"roles\/forever\.ts: timed out after 1s/,
    );
    await stillServing();
  });

  test("an undefined template variable: rc 1 naming the template, the line and the name; nothing written", async () => {
    const r = await apply("roles=tpl");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"render\(tpl\/undef\.conf, \/etc\/undef\.conf\)","rc":1.*"error":"[^"]*files\/tpl\/undef\.conf:2: nothere is not defined/,
    );
    expect(existsSync(join(w.sandbox("r1"), "etc/undef.conf"))).toBe(false);
    await stillServing();
  });

  test("a 100 MB print: cut to a bounded output that says so; the role goes on; agent and master survive with bounded memory", async () => {
    const r = await apply("roles=loud", "mb=100");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThan(3 * 1024 * 1024);
    expect(r.stdout).toMatch(/print output cut at 1 MiB: \d+ bytes? more not shown/);
    expect(r.stdout).toMatch(/copy\(ok\/motd, \/etc\/after-print\)","rc":0/);
    // Many smaller prints add up the same way.
    const many = await apply("roles=loud", "mb=1", "times=30");
    expect(many.code).toBe(0);
    expect(many.stdout.length).toBeLessThan(3 * 1024 * 1024);
    expect(many.stdout).toMatch(/print output cut at 1 MiB/);
    expect(procStats(agentPid()).rssMb).toBeLessThan(1024);
    expect(procStats(w.master!.proc.pid).rssMb).toBeLessThan(512);
    await stillServing();
  }, 60_000);

  test("40 commands with 1 MiB of output each: the role's report still fits and arrives, its later outputs cut and saying so", async () => {
    const r = await apply("roles=noisy", "--json");
    type Report = {
      hosts: Array<{
        roles: Array<{
          role: string;
          results: Array<{ cmd: string; rc: number; output?: string; error?: string }>;
        }>;
      }>;
    };
    const results = (JSON.parse(r.stdout) as Report).hosts[0]!.roles.find(
      (x) => x.role === "noisy",
    )!.results;
    expect(results.filter((x) => x.rc !== 0).map((x) => x.error)).toEqual([]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(results).toHaveLength(41);
    expect(results.every((x) => x.rc === 0)).toBe(true);
    expect(results.at(-1)!.cmd).toBe("copy(ok/motd, /etc/after-noise)");
    expect(
      results.some((x) =>
        /\[cut: a role's report keeps \d+ characters of output in all; \d+ more not shown\]$/.test(
          x.output ?? "",
        ),
      ),
    ).toBe(true);
    expect(results.reduce((n, x) => n + (x.output?.length ?? 0), 0)).toBeLessThan(9 * 1024 * 1024);
    await stillServing();
  }, 60_000);
});

describe("inventory", () => {
  const broken: Array<[string, string, RegExp]> = [
    [
      "a syntax error",
      `export default { hosts: { lab: { r1: { env: "lab", roles: [ } } };\n`,
      /^salty: (apply: )?hosts\/index\.ts:1:\d+: syntax error: Unexpected }\n$/,
    ],
    [
      "an unknown env",
      inventory().replace('env: "lab"', 'env: "prod"'),
      /^salty: (apply: )?hosts\/index\.ts: hosts\.lab\.r1: unknown env "prod" \(known: lab\)\n$/,
    ],
    [
      "one host id in two clusters",
      inventory()
        .replace("  envs:", "  clusters: { lab: {}, dr: {} },\n  envs:")
        .replace("clusters: { lab: {} },\n", "")
        .replace("} } },\n};", `} }, dr: { r1: { env: "lab", roles: ["ok"] } } },\n};`),
      /^salty: (apply: )?hosts\/index\.ts: hosts\.dr\.r1: duplicate host id, already in hosts\.lab\n$/,
    ],
  ];
  for (const [what, text, error] of broken) {
    test(`${what}: rc 1, one clear line, nothing run; fixed, it applies without a restart`, async () => {
      const path = join(w.fileroot, "hosts/index.ts");
      const before = readFileSync(path, "utf8");
      writeFileSync(path, text);
      try {
        const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=r1", "roles=ok"]); // no -vv: no stack trace
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(error);
      } finally {
        writeFileSync(path, before);
      }
      await stillServing();
    });
  }
});

describe("secrets", () => {
  test("a truncated NACL[...] in the inventory: rc 1 naming the problem, never the value; nothing run for that host", async () => {
    const path = join(w.fileroot, "hosts/index.ts");
    writeFileSync(path, inventory(`{ db: "${secret.slice(0, 30)}" }`));
    try {
      const r = await apply("roles=vault");
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/malformed secret: NACL\[ without a closing \]/);
      expect(r.stdout + r.stderr).not.toContain(secret.slice(6, 30));
      expect(existsSync(join(w.sandbox("r1"), "etc/got-the-secret"))).toBe(false);
      writeFileSync(path, inventory(`{ db: "${secret.slice(0, 30)}]" }`));
      const cut = await apply("roles=vault");
      expect(cut.code).toBe(1);
      expect(cut.stdout + cut.stderr).toMatch(/malformed secret|wrong password or corrupted data/);
    } finally {
      writeFileSync(path, inventory());
    }
    await stillServing();
  });

  test("a wrong crypto.pass: rc 1 for the secret var and the .enc file, nothing decrypted, no plaintext anywhere", async () => {
    const path = join(w.fileroot, "hosts/index.ts");
    writeFileSync(path, inventory(`{ db: "${secret}" }`));
    writeFileSync(join(w.keyroot, "crypto.pass"), WRONG);
    w.master!.kill("SIGTERM");
    await w.master!.proc.exited;
    await w.startMaster(["--auto-accept"]);
    await w.waitHosts(["r1"]);
    try {
      const r = await apply("roles=vault");
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/wrong password or corrupted data/);
      expect(r.stdout + r.stderr + w.master!.output).not.toContain("s3cret-db-pass");
      expect(existsSync(join(w.sandbox("r1"), "etc/vault.key"))).toBe(false);
      writeFileSync(path, inventory());
      const enc = await apply("roles=vault");
      expect(enc.code).toBe(1);
      expect(enc.stderr).toMatch(
        /"cmd":"copy\(vault\/key, \/etc\/vault\.key\)","rc":1.*wrong password or corrupted data/,
      );
      expect(enc.stdout + enc.stderr + w.master!.output).not.toContain("vault key");
    } finally {
      writeFileSync(path, inventory());
    }
    await stillServing();
  }, 30_000);
});
