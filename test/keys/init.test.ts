// `salty init DIR` as a user runs it: the scaffold, its modes, its editor setup
// (type-checked with tsc and nothing else), and that nothing is ever overwritten.

import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDirs } from "../_temp.ts";
import { cli } from "../_cli.ts";

const root = resolve(import.meta.dir, "../..");
const temp = tempDirs("salty-init-");

async function run(cmd: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", cwd: root });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

async function salty(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await cli(args, { cwd: root });
  return { code, out: stdout, err: stderr };
}
const tsc = (dir: string) => run([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", dir]);
const mode = (p: string) => statSync(p).mode & 0o777;
/** Every file under `dir` with its content (directories as ""): what a refused init must leave as it was. */
const snapshot = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => {
      const rel = join(e.parentPath, e.name).slice(dir.length + 1);
      return [rel, e.isDirectory() ? "" : readFileSync(join(dir, rel), "utf8")];
    }),
  );

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
    expect(readFileSync(join(dir, "types/salty.d.ts"), "utf8")).toBe(
      readFileSync(join(root, "types/salty.d.ts"), "utf8"),
    );
    expect(
      JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")).compilerOptions.paths,
    ).toEqual({ salty: ["./types/salty.d.ts"] });
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toContain("keys/\n");
    expect(await tsc(dir)).toEqual({ code: 0, out: "", err: "" });
  });

  test("the editor setup really checks roles: a wrong operator call fails tsc", async () => {
    const dir = temp();
    await salty("init", dir);
    writeFileSync(
      join(dir, "roles/broken.ts"),
      'import type { Role } from "salty";\nexport default (async ({ copy }) => { await copy("only-one-arg"); }) satisfies Role;\n',
    );
    const r = await tsc(dir);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("roles/broken.ts");
  });

  test("in an existing fileroot it refuses and writes nothing: a file the user deleted stays deleted", async () => {
    const dir = temp();
    expect((await salty("init", dir)).code).toBe(0);
    rmSync(join(dir, "roles/example.ts"));
    rmSync(join(dir, "files/example"), { recursive: true });
    writeFileSync(join(dir, "hosts/index.ts"), "// my inventory\n");
    const before = snapshot(dir);
    const again = await salty("init", dir);
    expect(again).toEqual({
      code: 1,
      out: "",
      err: `salty: ${dir} is already a fileroot (it has hosts/, roles/, files/, tsconfig.json, types/, keys/): salty init makes a new one in an empty or new directory; \`salty init --types ${dir}\` refreshes types/salty.d.ts\n`,
    });
    expect(snapshot(dir)).toEqual(before);
  });

  test("a directory holding other things (a git checkout) gets the skeleton; its .gitignore is kept", async () => {
    const dir = temp();
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, "README.md"), "mine\n");
    writeFileSync(join(dir, ".gitignore"), "mine\n");
    const r = await salty("init", dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`kept    ${join(dir, ".gitignore")} (already there)\n`);
    expect(r.out).toContain(`created ${join(dir, "roles/example.ts")}\n`);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("mine\n");
  });

  test("--types refreshes types/salty.d.ts only", async () => {
    const dir = temp();
    await salty("init", dir);
    rmSync(join(dir, "roles/example.ts"));
    writeFileSync(join(dir, "types/salty.d.ts"), "// an old version\n");
    const before = snapshot(dir);
    expect(await salty("init", "--types", dir)).toEqual({
      code: 0,
      out: `updated ${join(dir, "types/salty.d.ts")}\n`,
      err: "",
    });
    const after = snapshot(dir);
    expect(after["types/salty.d.ts"]).toBe(readFileSync(join(root, "types/salty.d.ts"), "utf8"));
    expect({ ...after, "types/salty.d.ts": "" }).toEqual({ ...before, "types/salty.d.ts": "" });
    expect(await salty("init", "--types", dir)).toEqual({
      code: 0,
      out: `unchanged ${join(dir, "types/salty.d.ts")} (already this version's)\n`,
      err: "",
    });
    expect(await salty("init", "--types", join(dir, "nowhere"))).toEqual({
      code: 1,
      out: "",
      err: `salty: ${join(dir, "nowhere")} does not exist\n`,
    });
  });

  test("roles that import node:* built-ins type-check with the generated tsconfig and nothing installed", async () => {
    const dir = temp();
    await salty("init", dir);
    writeFileSync(
      join(dir, "roles/native.ts"),
      `import type { Role } from "salty";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as os from "node:os";
export default (async ({ print }) => {
  print(readFileSync(join("/etc", "hostname"), "utf8") + os.hostname());
}) satisfies Role;
`,
    );
    expect(await tsc(dir)).toEqual({ code: 0, out: "", err: "" });
  });

  test("a DIR that is a file is an error with one clear line", async () => {
    const file = join(temp(), "plain");
    writeFileSync(file, "x");
    expect(await salty("init", file)).toEqual({
      code: 1,
      out: "",
      err: `salty: ${file} exists and is not a directory\n`,
    });
  });
});
