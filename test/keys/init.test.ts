// `salty init DIR` as a user runs it: the scaffold, its modes, its editor setup
// (type-checked with tsc and nothing else), and that nothing is ever overwritten.

import { describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDirs } from "../_temp.ts";

const root = resolve(import.meta.dir, "../..");
const temp = tempDirs("salty-init-");

async function run(cmd: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", cwd: root });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

const salty = (...args: string[]) => run([join(root, "node_modules/.bin/bun"), join(root, "cmd/main.ts"), ...args]);
const tsc = (dir: string) => run([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", dir]);
const mode = (p: string) => statSync(p).mode & 0o777;

const FILES = [
  "hosts/",
  "roles/",
  "files/",
  "files/example/",
  "hosts/index.ts",
  "roles/example.ts",
  "files/example/hello.txt",
  "files/example/motd.ejs",
  "tsconfig.json",
  ".gitignore",
  "types/salty.d.ts",
  "keys/",
  "keys/master.key",
  "keys/master.pub",
  "keys/crypto.pass",
];

describe("salty init", () => {
  test("creates the fileroot and keyroot; secrets 0600, keys/ 0700; the scaffold type-checks with tsc alone", async () => {
    const dir = join(temp(), "site");
    const r = await salty("init", dir);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines.slice(0, -1)).toEqual(FILES.map((f) => `created ${join(dir, f)}`));
    expect(lines.at(-1)).toMatch(/^master key SHA256:[A-Za-z0-9+/]{43}$/);
    expect(r.err).toMatch(/keys\.created path=\S+master\.key fingerprint=SHA256:/);
    expect(mode(join(dir, "keys"))).toBe(0o700);
    expect(mode(join(dir, "keys/master.key"))).toBe(0o600);
    expect(mode(join(dir, "keys/crypto.pass"))).toBe(0o600);
    expect(readFileSync(join(dir, "keys/crypto.pass"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
    expect(readFileSync(join(dir, "types/salty.d.ts"), "utf8")).toBe(readFileSync(join(root, "types/salty.d.ts"), "utf8"));
    expect(JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")).compilerOptions.paths).toEqual({ salty: ["./types/salty.d.ts"] });
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain("keys/\n");
    expect(await tsc(dir)).toEqual({ code: 0, out: "", err: "" });
  });

  test("the editor setup really checks roles: a wrong operator call fails tsc", async () => {
    const dir = temp();
    await salty("init", dir);
    writeFileSync(join(dir, "roles/broken.ts"), 'import type { Role } from "salty";\nexport default (async ({ copy }) => { await copy("only-one-arg"); }) satisfies Role;\n');
    const r = await tsc(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("roles/broken.ts");
  });

  test("running it again keeps every file, the keys and the password unchanged", async () => {
    const dir = temp();
    writeFileSync(join(dir, ".gitignore"), "mine\n");
    mkdirSync(join(dir, "hosts"));
    writeFileSync(join(dir, "hosts/index.ts"), "// my inventory\n");
    const first = await salty("init", dir);
    expect(first.out).toContain(`kept    ${join(dir, ".gitignore")} (already there)`);
    expect(first.out).toContain(`kept    ${join(dir, "hosts/index.ts")} (already there)`);
    const before = ["keys/master.key", "keys/crypto.pass", "roles/example.ts"].map((f) => readFileSync(join(dir, f), "utf8"));
    const again = await salty("init", dir);
    expect(again.code).toBe(0);
    expect(again.err).toBe("");
    expect(again.out.trimEnd().split("\n").slice(0, -1)).toEqual(FILES.map((f) => `kept    ${join(dir, f)} (already there)`));
    expect(["keys/master.key", "keys/crypto.pass", "roles/example.ts"].map((f) => readFileSync(join(dir, f), "utf8"))).toEqual(before);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("mine\n");
    expect(readFileSync(join(dir, "hosts/index.ts"), "utf8")).toBe("// my inventory\n");
  });

  test("a DIR that is a file is an error with one clear line", async () => {
    const file = join(temp(), "plain");
    writeFileSync(file, "x");
    expect(await salty("init", file)).toEqual({ code: 1, out: "", err: `salty: ${file} exists and is not a directory\n` });
  });
});
