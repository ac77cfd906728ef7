// Path escapes in every file request an authenticated agent can send the
// real master, straight over RPC (the agent-side checks are bypassed): "..",
// absolute, URL-encoded and symlink escapes, the keyroot inside the fileroot,
// another role's secret files; and serverShell outside a role run and
// without --allow-server-shell. Every one is refused and nothing leaks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { deriveKey, encryptBytes } from "../../lib/crypto/secrets.ts";
import { setLogSink } from "../../lib/log.ts";
import type { RoleReport } from "../../lib/wire/api.ts";
import { world, type World } from "../e2e/_harness.ts";
import { rogueAgent, snapshot } from "./_tools.ts";

setLogSink(() => {});

const PASSWORD = "paths-password-0123456789abcdef0123456789";
const facts = {
  kernel: "Linux",
  machine: "x86_64",
  hostname: "rogue",
  networking: { interfaces: [] },
};
const inventory = `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: {
  good: { env: "lab", roles: ["shelly"] },
  "rogue*": { env: "lab", roles: ["web"], ignore_missing: true },
} } };\n`;
const files = {
  "hosts/index.ts": inventory,
  "roles/web.ts": `export default async () => {};\n`,
  "roles/shelly.ts": `export default async ({ serverShell, shell, wait }) => {
  if (wait) await shell("sleep " + wait);
  await serverShell("hello");
};\n`,
  "files/web/page.txt": "a page\n",
  "server/hello": "#!/bin/sh\necho from-the-master\n",
};

let w: World;
/** Never to be seen by an agent, in any reply or error. */
let secrets: string[];

beforeAll(async () => {
  w = await world({ files, password: PASSWORD, keyrootInFileroot: true });
  chmodSync(join(w.fileroot, "server/hello"), 0o755);
  const key = deriveKey(PASSWORD);
  const f = (rel: string) => join(w.fileroot, rel);
  mkdirSync(f("files/db"), { recursive: true });
  writeFileSync(
    f("files/web/token.enc"),
    encryptBytes(new TextEncoder().encode("WEB-ROLE-TOKEN"), key),
  );
  writeFileSync(
    f("files/db/secret.enc"),
    encryptBytes(new TextEncoder().encode("DB-SECRET-PLAINTEXT"), key),
  );
  mkdirSync(join(w.dir, "outside"));
  writeFileSync(join(w.dir, "outside/secret.txt"), "OUTSIDE-SECRET");
  symlinkSync(join(w.dir, "outside/secret.txt"), f("files/link-out"));
  symlinkSync("../../outside/secret.txt", f("files/link-rel"));
  symlinkSync("../keys/crypto.pass", f("files/link-keys"));
  symlinkSync("/etc", f("files/dir-out"));
  symlinkSync("../keys", f("files/dir-keys"));
  await w.startMaster(["--auto-accept", "--allow-server-shell"]);
  await w.startAgent("good");
  await w.waitHosts(["good"]);
  secrets = [
    "OUTSIDE-SECRET",
    "DB-SECRET-PLAINTEXT",
    PASSWORD,
    readFileSync(join(w.keyroot, "master.key"), "utf8").trim().slice(0, 40),
    "root:x:0:0:",
  ];
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

/** The text of whatever came back, reply or error. */
function text(v: unknown): string {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (v instanceof Error) return v.message;
  // Not JSON.stringify's replacer: a Buffer's toJSON runs before it, hiding the bytes as a list of numbers.
  if (Array.isArray(v)) return `[${v.map(text).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}:${text(x)}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? String(v);
}

function expectNoLeak(what: string, v: unknown): void {
  const t = text(v);
  for (const s of secrets)
    expect(t.includes(s) ? `${what} leaked ${s}` : "no leak").toBe("no leak");
}

type Call = (method: string, params: unknown) => Promise<unknown>;

/** Escapes that no file request may follow. */
const ESCAPES = (fileroot: string) => [
  "../outside/secret.txt",
  "files/../../outside/secret.txt",
  "files/web/../../../outside/secret.txt",
  "/etc/passwd",
  "/etc/shadow",
  `${fileroot}/keys/crypto.pass`,
  "files/%2e%2e/%2e%2e/outside/secret.txt",
  "files/..%2f..%2foutside%2fsecret.txt",
  "%2e%2e/outside/secret.txt",
  "files\\..\\..\\outside\\secret.txt",
  "files/link-out",
  "files/link-rel",
  "files/link-keys",
  "files/dir-out/passwd",
  "files/dir-out/shadow",
  "files/dir-keys/crypto.pass",
  "files/dir-keys/master.key",
  "keys/crypto.pass",
  "keys/master.key",
  "./keys/master.key",
  "files/../keys/crypto.pass",
  "hosts/../keys/master.key",
  "files/web/../../keys/crypto.pass",
  "files/web/\0/../../keys/crypto.pass",
  "",
];

/** Each request refused (rejected, or null for file.hashes) and nothing secret in the answer. */
async function refusedAll(call: Call): Promise<string[]> {
  const accepted: string[] = [];
  const escapes = ESCAPES(w.fileroot);
  const attempts: Array<[string, unknown]> = [
    ...escapes.map((p): [string, unknown] => ["file.fetch", { path: p }]),
    ...escapes.map((p): [string, unknown] => ["file.read", { path: p, offset: 0, length: 4096 }]),
    ...escapes.map((p): [string, unknown] => ["file.hashes", { paths: [p] }]),
    ["file.fetch", { path: "files/../hosts/index.ts" }], // inside the fileroot but not under files/
    ["file.fetch", { path: "files/web/../../hosts/index.ts" }],
    ...[
      "..",
      "../outside",
      "/etc",
      "/",
      "files/dir-out",
      "files/dir-keys",
      "keys",
      "files/../keys",
      "%2e%2e",
      "files/..%2f..",
      "",
    ].map((d): [string, unknown] => ["file.scan", { dir: d }]),
  ];
  for (const [method, params] of attempts) {
    const got = await call(method, params).then(
      (v) => v,
      (err: Error) => err,
    );
    expectNoLeak(`${method} ${JSON.stringify(params)}`, got);
    const refused =
      got instanceof Error ||
      (method === "file.hashes" && Array.isArray(got) && got.every((x) => x === null));
    if (!refused) accepted.push(`${method} ${JSON.stringify(params)} -> ${text(got).slice(0, 80)}`);
  }
  return accepted;
}

describe("path escapes in every file request of an authenticated agent", () => {
  test("outside a role run: every escape is refused, nothing leaks, nothing is written", async () => {
    const before = snapshot(w.dir);
    const rogue = await rogueAgent(w.port, w.keyroot, "rogue1");
    const call = rogue.rpc.call.bind(rogue.rpc) as unknown as Call;
    expect(await refusedAll(call)).toEqual([]);
    // Outside a role run nothing is served, not even a good path (S7).
    await expect(call("file.fetch", { path: "files/web/page.txt" })).rejects.toThrow(
      "file reads are refused outside a role run",
    );
    rogue.raw.close();
    expect(snapshot(w.dir)).toEqual({
      ...before,
      "fileroot/keys/agents/accepted/rogue1.pub": snapshot(w.dir)[
        "fileroot/keys/agents/accepted/rogue1.pub"
      ]!,
    });
  });

  test("during its own role run: its role's secret is served, another role's never, whatever the path says", async () => {
    let outcome:
      | {
          own: unknown;
          others: unknown[];
          accepted: string[];
          page?: string;
          tree?: string[];
          root?: unknown;
        }
      | undefined;
    const rogue = await rogueAgent(
      w.port,
      w.keyroot,
      "rogue2",
      async (req): Promise<RoleReport> => {
        const call = rogue.rpc.call.bind(rogue.rpc) as unknown as Call;
        const others: unknown[] = [];
        for (const path of [
          "files/db/secret",
          "files/web/../db/secret",
          "files/web/./../db/secret",
          "files//web/../db/secret",
          "files/web/%2e%2e/db/secret",
        ]) {
          others.push(await call("file.fetch", { path }).catch((e: Error) => e));
          others.push(
            await call("file.read", { path, offset: 0, length: 100 }).catch((e: Error) => e),
          );
          others.push(await call("file.hashes", { paths: [path] }).catch((e: Error) => e));
        }
        outcome = {
          own: await call("file.fetch", { path: "files/web/token" }).catch((e: Error) => e),
          others,
          accepted: await refusedAll(call),
        };
        // The fileroot is served where it should be, and a scan of files/ never lists the keyroot; a scan of the fileroot is refused.
        outcome.page = text(await call("file.fetch", { path: "files/web/page.txt" }));
        outcome.tree = ((await call("file.scan", { dir: "files" })) as Array<{ path: string }>).map(
          (e) => e.path,
        );
        outcome.root = await call("file.scan", { dir: "." }).catch((e: Error) => e);
        return { role: req.role, elapsed: 0, results: [] };
      },
    );
    await rogue.rpc.call("agent.hello", { facts: facts as never, version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=rogue2"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(text(outcome!.own)).toContain("WEB-ROLE-TOKEN");
    for (const got of outcome!.others) {
      expectNoLeak("another role's secret", got);
      const refused = got instanceof Error || (Array.isArray(got) && got.every((x) => x === null));
      expect(refused ? "refused" : text(got)).toBe("refused");
    }
    expect(outcome!.accepted).toEqual([]);
    expect(outcome!.page).toContain("a page");
    expect(outcome!.tree).toContain("web/page.txt");
    expect(
      outcome!.tree!.filter((p) => p.includes("crypto.pass") || p.includes("master.key")),
    ).toEqual([]);
    expect(text(outcome!.root)).toContain("agents read only under files/");
    rogue.raw.close();
  });
});

describe("serverShell", () => {
  const marker = () => join(w.dir, "pwned");
  const shellReq = () => ({ name: "hello", role: "web", cmds: `touch ${marker()}` });

  test("refused outside a role run, even while another agent's role runs; allowed in that role", async () => {
    const rogue = await rogueAgent(w.port, w.keyroot, "rogue3");
    await rogue.rpc.call("agent.hello", { facts: facts as never, version: "rogue" });
    const call = rogue.rpc.call.bind(rogue.rpc) as unknown as Call;
    await expect(call("server.shell", shellReq())).rejects.toThrow(
      "serverShell is refused outside a role run",
    );
    const running = w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good", "wait=1"]);
    await Bun.sleep(400);
    await expect(call("server.shell", shellReq())).rejects.toThrow(
      "serverShell is refused outside a role run",
    );
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"output":"from-the-master\\n"');
    expect(existsSync(marker())).toBe(false);
    rogue.raw.close();
  });

  test("in its own role run, malformed requests are refused with a clear error; the master goes on", async () => {
    const answers: unknown[] = [];
    const rogue = await rogueAgent(
      w.port,
      w.keyroot,
      "rogue5",
      async (req): Promise<RoleReport> => {
        const call = rogue.rpc.call.bind(rogue.rpc) as unknown as Call;
        for (const params of [
          { name: 42, role: "web" },
          { name: "../../../bin/sh", role: "web" },
          { name: "hello", role: "db" },
          { name: "hello", role: "web", args: { a: Number.NaN } },
          { name: "hello", role: "web", timeout: "soon" },
          { name: "hello", role: "web", timeout: -1 },
          { name: "nope", role: "web" },
          // What the agent chose before: command, cwd and env are ignored; the declared command runs.
          {
            name: "hello",
            role: "web",
            cmds: `touch ${marker()}`,
            cwd: "/",
            env: { PATH: "/nonexistent" },
          },
        ])
          answers.push(await call("server.shell", params).catch((e: Error) => e));
        return { role: req.role, elapsed: 0, results: [] };
      },
    );
    await rogue.rpc.call("agent.hello", { facts: facts as never, version: "rogue" });
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=rogue5"]);
    expect(r.code).toBe(0);
    expect(
      answers.map((a) => (a instanceof Error ? a.message : (a as { output: string }).output)),
    ).toEqual([
      "server.shell: name must be a string, got number",
      'server.shell: serverShell names a command of the master\'s server/ directory, not "../../../bin/sh"',
      'server.shell: serverShell from role "db", which is not one of this host\'s roles in this apply',
      "server.shell: args.a must be a finite number",
      'server.shell: timeout must be a positive number of seconds, got "soon"',
      "server.shell: timeout must be a positive number of seconds, got -1",
      "server.shell: no command server/nope on the master",
      "from-the-master\n",
    ]);
    expect(existsSync(marker())).toBe(false);
    rogue.raw.close();
    const again = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", "target=good"]);
    expect(again.code).toBe(0);
  });

  test("refused by a master without --allow-server-shell, in a role run too", async () => {
    await using plain = await world({ files });
    await plain.startMaster(["--auto-accept"]);
    await plain.startAgent("good");
    await plain.waitHosts(["good"]);
    const rogue = await rogueAgent(plain.port, plain.keyroot, "rogue4");
    await expect(
      (rogue.rpc.call.bind(rogue.rpc) as unknown as Call)("server.shell", shellReq()),
    ).rejects.toThrow("serverShell is refused: the master runs without --allow-server-shell");
    const r = await plain.salty(["apply", "--keyroot", plain.keyroot, "-vv", "target=good"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /"cmd":"serverShell\(hello\)","rc":1.*master runs without --allow-server-shell/,
    );
    expect(existsSync(marker())).toBe(false);
    rogue.raw.close();
  });
});
