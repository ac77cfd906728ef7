// Command-line hygiene (issue 12) and the .enc warning (issue 13 item 13),
// as a user runs them: --version and -V, repeated -v, a bad --timeout,
// help text, where client commands find the keyroot, which password wins,
// the master's warning about secrets without crypto.pass and a crypto.pass
// added while it runs. stdout, stderr and the exit status are checked together.
// What needs no process of its own (flags, help, passwords, warnings) runs the
// CLI in-process (test/_cli.ts); the keyroot search beside a running master, the
// master itself and the release build run the binary.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { deriveKey, decryptString, encryptString } from "../../lib/crypto/secrets.ts";
import { REPO, binary, world, type Run, type World } from "../e2e/_harness.ts";
import { compile } from "../../scripts/_compile.ts";
import { tempDirForFile } from "../_temp.ts";
import { cli } from "../_cli.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/crypto");
const PASSWORD = "cli-password-0123456789abcdef0123456789";
const OTHER = "another-password-0123456789abcdef012345";

let bin: string;
const scratch = tempDirForFile("salty-cli-");

/** The binary in `cwd` with exactly `env` (plus PATH and HOME): no password or keyroot leaks in from the test's own environment. */
async function salty(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<Run> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, ...opts.env };
  const p = Bun.spawn([bin, ...args], {
    cwd: opts.cwd,
    env,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

/** The same in-process (test/_cli.ts), for what needs no process of its own: parsing, help, printing. */
async function inProcess(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<Run> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, ...opts.env };
  return cli(args, {
    cwd: opts.cwd,
    env,
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
  });
}

function dir(name: string): string {
  const d = join(scratch, name);
  mkdirSync(d, { recursive: true });
  return d;
}

beforeAll(async () => {
  bin = await binary();
});

describe("flags", () => {
  test("--version and -V print what `salty version` prints", async () => {
    const cwd = dir("version");
    const version = await inProcess(["version"], { cwd });
    expect(version).toEqual({
      code: 0,
      stdout: expect.stringMatching(/^salty \S+ \(\S+\) \S+\n$/),
      stderr: "",
    });
    expect(await inProcess(["--version"], { cwd })).toEqual(version);
    expect(await inProcess(["-V"], { cwd })).toEqual(version);
  });

  test.each(["0", "-1", "abc", "", "1e3x", "90000"])(
    "--timeout=%p is a usage error before any connection",
    async (value) => {
      const cwd = dir("timeout");
      const r = await inProcess(
        ["apply", `--timeout=${value}`, "--keyroot", join(cwd, "nowhere")],
        { cwd },
      );
      expect(r).toEqual({
        code: 2,
        stdout: "",
        stderr: `salty: --timeout must be a number of seconds above 0, at most 86400, not ${JSON.stringify(value)}\n`,
      });
      expect((await inProcess(["bootstrap", `--timeout=${value}`], { cwd })).code).toBe(2);
    },
  );

  test("an option before the command is a usage error, never dropped: salty --dry-run apply does not apply", async () => {
    const cwd = dir("misplaced");
    const r = await inProcess(["--dry-run", "apply", "--keyroot", join(cwd, "nowhere")], { cwd });
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: "salty: --dry-run before the command: options go after it (salty apply --dry-run)\n",
    });
    const keys = await inProcess(["keys", "--all", "accept"], { cwd });
    expect(keys).toEqual({
      code: 2,
      stdout: "",
      stderr: "salty: --all before the command: options go after it (salty keys accept --all)\n",
    });
  });

  test("words a command would drop are usage errors: extra arguments, a value option without its value", async () => {
    const cwd = dir("extra");
    const cases: [string[], string][] = [
      [["version", "extra"], "unexpected argument extra (see salty version --help)"],
      [
        ["init", join(cwd, "a"), join(cwd, "b")],
        `unexpected argument ${join(cwd, "b")} (see salty init --help)`,
      ],
      [
        ["keys", "accept", "web1", "web2"],
        "unexpected argument web2 (see salty keys accept --help)",
      ],
      [["jobs", "lsit"], "unexpected argument lsit (see salty jobs --help)"],
      [["apply", "--keyroot"], "--keyroot needs a value (see salty apply --help)"],
    ];
    for (const [args, line] of cases)
      expect(await inProcess(args, { cwd })).toEqual({
        code: 2,
        stdout: "",
        stderr: `salty: ${line}\n`,
      });
    expect(existsSync(join(cwd, "a"))).toBe(false);
    // Commands that take any number of words still do.
    const many = await inProcess(["apply", "a=1", "b=2", "--keyroot", join(cwd, "nowhere")], {
      cwd,
    });
    expect(many.code).toBe(1);
    expect(many.stderr).toStartWith("salty: cannot reach the master");
    expect(
      (
        await inProcess(["crypto", "es", "a", "b"], { cwd, env: { SALTY_PASSWORD: PASSWORD } })
      ).stdout.split("\n"),
    ).toHaveLength(3);
  });

  test("-v -v is -vv: the stack of an error is shown for both, for neither with -v", async () => {
    const cwd = dir("verbose");
    const args = ["apply", "--keyroot", join(cwd, "nowhere")];
    const once = await inProcess([...args, "-v"], { cwd });
    expect(once.code).toBe(1);
    expect(once.stderr.trimEnd().split("\n")).toHaveLength(1);
    for (const vv of [["-vv"], ["-v", "-v"], ["--verbose", "-v"]]) {
      const r = await inProcess([...args, ...vv], { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n")[0]).toBe(once.stderr.trimEnd());
      expect(r.stderr).toMatch(/\n\s+at /);
    }
  });
});

describe("help", () => {
  test.each([
    [[]],
    [["keys"]],
    [["keys", "accept"]],
    [["apply"]],
    [["service", "install", "agent"]],
  ])(
    "salty %p --help: the whole command in the usage line, columns aligned, no colour codes, no trailing blanks",
    async (words) => {
      const r = await inProcess([...words, "--help"], { cwd: dir("help") });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`\nUsage: ${["salty", ...words].join(" ")}`);
      expect(r.stdout).not.toContain("\x1b[");
      expect(r.stdout).not.toMatch(/[ \t]$/m);
      // In each section, the descriptions start at the same column on every line.
      for (const section of r.stdout
        .split("\n\n")
        .filter((s) => /^(Arguments|Options|Commands):\n/.test(s))) {
        const starts = section
          .trimEnd()
          .split("\n")
          .slice(1)
          .map((l) => /^  (.*?\S)  +(?=\S)/.exec(l)?.[0].length);
        expect(starts.every((n) => n !== undefined && n === starts[0])).toBe(true);
      }
    },
  );

  test("a command that also runs by itself shows its sub-commands as optional", async () => {
    expect((await inProcess(["jobs", "--help"], { cwd: dir("help") })).stdout).toContain(
      "\nUsage: salty jobs [OPTIONS] [COMMAND]\n",
    );
    expect((await inProcess(["keys", "--help"], { cwd: dir("help") })).stdout).toContain(
      "\nUsage: salty keys COMMAND\n",
    );
  });

  test("an unknown sub-command names its parent in the hint", async () => {
    expect(await inProcess(["keys", "lsit"], { cwd: dir("help") })).toEqual({
      code: 2,
      stdout: "",
      stderr: "salty: unknown command lsit (see salty keys --help)\n",
    });
  });
});

describe("where client commands find the keyroot", () => {
  let w: World;
  beforeAll(async () => {
    w = await world({
      files: {
        "hosts/index.ts":
          "export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {} } };\n",
        "roles/deep/x.txt": "",
      },
      password: PASSWORD,
      keyrootInFileroot: true,
    });
    await w.startMaster();
  });
  afterAll(async () => {
    await w?.[Symbol.asyncDispose]();
  });

  test("from a subdirectory of the fileroot: the fileroot's keys/, as git finds .git", async () => {
    expect(await salty(["hosts", "--json"], { cwd: join(w.fileroot, "roles", "deep") })).toEqual({
      code: 0,
      stdout: "{}\n",
      stderr: "",
    });
    expect(await salty(["jobs", "--json"], { cwd: join(w.fileroot, "roles", "deep") })).toEqual({
      code: 0,
      stdout: "[]\n",
      stderr: "",
    });
    expect(await salty(["keys", "list"], { cwd: join(w.fileroot, "roles") })).toEqual({
      code: 0,
      stdout: `no agent or client keys in ${w.keyroot}\n`,
      stderr: "",
    });
    const es = await salty(["crypto", "es", "hello"], { cwd: join(w.fileroot, "roles", "deep") });
    expect(es.code).toBe(0);
    expect(decryptString(es.stdout.trim(), deriveKey(PASSWORD))).toBe("hello");
  });

  test("$SALTY_KEYROOT from anywhere; --keyroot wins over it; ./keys wins over the fileroot above", async () => {
    const elsewhere = dir("elsewhere");
    expect(
      await salty(["hosts", "--json"], { cwd: elsewhere, env: { SALTY_KEYROOT: w.keyroot } }),
    ).toEqual({ code: 0, stdout: "{}\n", stderr: "" });
    const given = await salty(["hosts", "--json", "--keyroot", join(elsewhere, "nowhere")], {
      cwd: elsewhere,
      env: { SALTY_KEYROOT: w.keyroot },
    });
    expect(given.code).toBe(1);
    expect(given.stderr).toStartWith(
      `salty: cannot reach the master at ${join(elsewhere, "nowhere", "master.sock")}: `,
    );
    expect(given.stderr).not.toContain("looked for");
    mkdirSync(join(w.fileroot, "roles", "keys"), { recursive: true });
    const local = await salty(["hosts", "--json"], { cwd: join(w.fileroot, "roles") });
    expect(local.code).toBe(1);
    expect(local.stderr).toStartWith("salty: cannot reach the master at keys/master.sock: ");
    rmSync(join(w.fileroot, "roles", "keys"), { recursive: true });
  });

  test("meta with no master running, from a subdirectory: the inventory of the fileroot found above", async () => {
    const fileroot = dir("meta-offline");
    for (const d of ["hosts", "roles/deep", "keys"])
      mkdirSync(join(fileroot, d), { recursive: true });
    writeFileSync(
      join(fileroot, "hosts/index.ts"),
      'export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { h9: { env: "lab", roles: [] } } } };\n',
    );
    const r = await salty(["meta"], { cwd: join(fileroot, "roles", "deep") });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(r.stdout).hosts).toEqual({
      h9: { cluster: "lab", env: "lab", roles: [], vars: {}, connected: false },
    });
  });

  test("found nowhere: /etc/salty, and the error names every place looked at", async () => {
    const empty = dir("empty");
    const r = await salty(["hosts", "--json"], { cwd: empty });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toStartWith("salty: cannot reach the master at /etc/salty/master.sock: ");
    expect(r.stderr).toContain(
      `looked for the keyroot at: --keyroot (not given), $SALTY_KEYROOT (not set), ./keys (none), hosts/index.ts with keys/ in ${empty} or a parent (none), /etc/salty\n`,
    );
    const keys = await salty(["keys", "list"], { cwd: empty });
    expect(keys).toEqual({
      code: 1,
      stdout: "",
      stderr: expect.stringContaining(
        "keyroot /etc/salty does not exist (see --keyroot); looked for the keyroot at: --keyroot (not given)",
      ),
    });
  });
});

describe("which password", () => {
  const es = async (cwd: string, env: Record<string, string>) => {
    const r = await inProcess(["crypto", "es", "x"], { cwd, env });
    expect(r.code).toBe(0);
    for (const pw of [PASSWORD, OTHER, "third-password-0123456789abcdef0123456"]) {
      try {
        decryptString(r.stdout.trim(), deriveKey(pw));
        return { used: pw, stderr: r.stderr };
      } catch {}
    }
    throw new Error(`no known password opens ${r.stdout}`);
  };

  test("$SALTY_PASSWORD, then crypto.pass, then $PASSWORD; a $PASSWORD left unused is said", async () => {
    const cwd = dir("password");
    expect(await es(cwd, { PASSWORD: OTHER })).toEqual({ used: OTHER, stderr: "" });
    expect(await es(cwd, { PASSWORD: OTHER, SALTY_PASSWORD: PASSWORD })).toEqual({
      used: PASSWORD,
      stderr: "",
    });
    mkdirSync(join(cwd, "keys"));
    writeFileSync(join(cwd, "keys", "crypto.pass"), PASSWORD, { mode: 0o600 });
    expect(await es(cwd, {})).toEqual({ used: PASSWORD, stderr: "" });
    expect(await es(cwd, { PASSWORD: OTHER })).toEqual({
      used: PASSWORD,
      stderr:
        "salty: warning: $PASSWORD is set but not used: keys/crypto.pass is (set $SALTY_PASSWORD to override the file)\n",
    });
    expect(await es(cwd, { PASSWORD: OTHER, SALTY_PASSWORD: OTHER })).toEqual({
      used: OTHER,
      stderr: "",
    });
  });
});

describe("the master and crypto.pass", () => {
  test("secrets in the fileroot without crypto.pass: a warning at start; crypto.pass written later is used without a restart", async () => {
    const key = deriveKey(PASSWORD);
    await using w = await world({
      files: {
        "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { h1: { env: "lab", roles: ["vault"], vars: { token: "${encryptString("tok-123", key)}" } } } } };\n`,
        "roles/vault.ts": `export default async ({ render }) => { await render("vault/t.ejs", "/etc/token"); };\n`,
        "files/vault/t.ejs": "token=<%= me.vars.token %>\n",
      },
    });
    const master = await w.startMaster(["--auto-accept"]);
    await master.waitFor(
      /master\.no_crypto_pass found="hosts\/index\.ts holds NACL\[\.\.\.\] values" missing=\S+crypto\.pass hint=/,
    );
    await w.startAgent("h1");
    await w.waitHosts(["h1"]);
    const before = await w.salty(["apply", "--keyroot", w.keyroot]);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain("no crypto.pass");
    writeFileSync(join(w.keyroot, "crypto.pass"), PASSWORD, { mode: 0o600 });
    expect(await w.salty(["apply", "--keyroot", w.keyroot])).toEqual({
      code: 0,
      stdout: expect.any(String),
      stderr: "",
    });
    expect(readFileSync(join(w.sandbox("h1"), "etc/token"), "utf8")).toBe("token=tok-123\n");
    expect(master.output).not.toContain("tok-123");
  });

  test("an .enc file and no crypto.pass: the warning names it", async () => {
    await using w = await world({
      files: {
        "hosts/index.ts": "export default { clusters: {}, envs: {}, hosts: {} };\n",
        "files/db/pw.enc": "x",
      },
    });
    const master = await w.startMaster();
    await master.waitFor(/master\.no_crypto_pass found="files\/db\/pw\.enc is encrypted"/);
  });

  test("the same fileroot with a crypto.pass: no warning", async () => {
    await using w = await world({
      files: {
        "hosts/index.ts": "export default { clusters: {}, envs: {}, hosts: {} };\n",
        "files/db/pw.enc": "x",
      },
      password: PASSWORD,
    });
    const master = await w.startMaster();
    await w.waitHosts([]);
    expect(master.output).not.toContain("no_crypto_pass");
  });
});

describe("salty crypto d and whole blocks (issue 13 item 13)", () => {
  const password = () => {
    const text = readFileSync(join(FIXTURES, "crypto-vectors.json"), "utf8");
    return /"password":\s*"([^"]*)"/.exec(text)![1]!;
  };

  test("a file of exactly N MiB of plaintext, or an empty one, decrypts with one warning line; other lengths without", async () => {
    const cwd = dir("blocks");
    for (const f of ["file-1048576.bin.enc", "file-1048593.bin.enc"])
      copyFileSync(join(FIXTURES, f), join(cwd, f));
    writeFileSync(join(cwd, "empty.enc"), "");
    const env = { SALTY_PASSWORD: password() };
    const warning =
      "the .enc format cannot tell whether blocks were cut off at the end; compare with the original's size";
    expect(await inProcess(["crypto", "d", "file-1048576.bin.enc"], { cwd, env })).toEqual({
      code: 0,
      stdout: "",
      stderr: `salty: warning: file-1048576.bin.enc: its plaintext is exactly 1 MiB (1 whole block): ${warning}\n`,
    });
    expect(await inProcess(["crypto", "d", "file-1048593.bin.enc"], { cwd, env })).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(await inProcess(["crypto", "d", "empty.enc"], { cwd, env })).toEqual({
      code: 0,
      stdout: "",
      stderr: `salty: warning: empty.enc: it is empty: ${warning}\n`,
    });
    const piped = await inProcess(["crypto", "d"], { cwd, env, stdin: "" });
    expect(piped).toEqual({
      code: 0,
      stdout: "",
      stderr: `salty: warning: stdin: it is empty: ${warning}\n`,
    });
  });
});

describe("stack traces and role lines in the release build (minified, as scripts/release.ts makes it)", () => {
  let release: string;
  beforeAll(async () => {
    release = join(REPO, ".tmp", "test-bin-release", "salty");
    rmSync(dirname(release), { recursive: true, force: true });
    mkdirSync(dirname(release), { recursive: true });
    // As scripts/release.ts builds it (compile: the source maps Bun writes beside it removed).
    const status = await compile({ outfile: release, commit: "test", minify: true }, true);
    if (status !== 0) throw new Error(`release build failed (${status})`);
    expect(readdirSync(dirname(release))).toEqual(["salty"]);
  }, 120_000);

  test("-vv: salty's own frames name its source files and functions", async () => {
    const cwd = dir("stack");
    const p = Bun.spawn([release, "apply", "-vv", "--keyroot", join(cwd, "nowhere")], {
      cwd,
      env: { PATH: process.env.PATH ?? "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/\n\s+at connectControl \(lib\/client\/connect\.ts:\d+:\d+\)\n/);
    expect(stderr).toMatch(/\n\s+at async run \(cmd\/apply\.ts:\d+:\d+\)\n/);
    expect(stderr).not.toContain("$bunfs");
  });

  test("a role's error names the line of the role's own source (bootstrap: master and agent in the release binary)", async () => {
    const fileroot = dir("role-lines");
    const roles: Record<string, string> = {
      throws: `import type { Role } from "salty";\n// two\nexport default (async ({ print }) => {\n  print("x");\n  throw new Error("thrown on line 5");\n}) satisfies Role;\n`,
      typeerr: `export default async ({ me }) => {\n  const v: any = me.vars;\n\n  return v.missing.field;\n};\n`,
      deep: `function helper(n: number): number {\n  if (n === 0) throw new RangeError("deep");\n  return helper(n - 1);\n}\nexport default async () => {\n  await new Promise((r) => setTimeout(r, 5));\n  helper(3);\n};\n`,
      quoted: `export default async ({ quote }) => {\n  interface T { a: string }\n  const t: T = { a: "x" };\n  quote(undefined as any, t.a);\n};\n`,
    };
    mkdirSync(join(fileroot, "hosts"), { recursive: true });
    mkdirSync(join(fileroot, "roles"), { recursive: true });
    writeFileSync(
      join(fileroot, "hosts/index.ts"),
      `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { h1: { env: "lab", roles: ${JSON.stringify(Object.keys(roles))} } } } };\n`,
    );
    for (const [name, text] of Object.entries(roles))
      writeFileSync(join(fileroot, "roles", `${name}.ts`), text);
    const p = Bun.spawn(
      [
        release,
        "bootstrap",
        "--json",
        "--id",
        "h1",
        "--fileroot",
        fileroot,
        "--keyroot",
        join(fileroot, "keys"),
        "--path",
        join(fileroot, "sandbox"),
      ],
      { cwd: fileroot, env: { PATH: process.env.PATH ?? "" }, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(1);
    const host = JSON.parse(stdout).hosts.find((h: { id: string }) => h.id === "h1");
    const errors = host.roles.map(
      (r: { role: string; results: { error?: string }[] }) => r.results.find((x) => x.error)?.error,
    );
    expect(errors).toEqual([
      "roles/throws.ts:5: thrown on line 5",
      expect.stringMatching(/^roles\/typeerr\.ts:4: /),
      "roles/deep.ts:2: deep",
      expect.stringMatching(/^roles\/quoted\.ts:4: quote\(\) /),
    ]);
  }, 60_000);
});
