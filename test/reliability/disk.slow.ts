// A full disk: the agent's --path is a 1 MiB tmpfs (root only; skipped with a
// message where mounting is not permitted). A copy, a render and a syncdir
// that do not fit fail with rc 1 "no space left", the old files stay whole,
// no temporary file is left behind, and once there is room the next apply
// completes. Run by `npm run test:reliability`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { world, type World } from "../e2e/_harness.ts";
import { sha256, snapshot, tempFiles } from "./_tools.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { d1: { env: "lab", roles: ["fill"] } } } };\n`,
  "roles/fill.ts": `export default async ({ copy, render, syncdir, what }) => {
  if (what === "copy") await copy("big/two-mb", "/data/f");
  if (what === "render") await render("big/page.ejs", "/data/page", { vars: { n: 300000 } });
  if (what === "syncdir") await syncdir("files/tree", "/data/tree");
};\n`,
  "files/big/page.ejs": "<% for (let i = 0; i < n; i++) { %>line <%= i %>\n<% } %>",
};

let w: World;
let mounted = false;
let skip = "";

async function sh(...argv: string[]): Promise<{ code: number; err: string }> {
  const p = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  return { code, err };
}

beforeAll(async () => {
  w = await world({ files });
  mkdirSync(join(w.fileroot, "files/tree"), { recursive: true });
  writeFileSync(join(w.fileroot, "files/big/two-mb"), randomBytes(2 * 1024 * 1024));
  for (let i = 0; i < 6; i++)
    writeFileSync(join(w.fileroot, `files/tree/part-${i}`), randomBytes(256 * 1024));
  const sandbox = w.sandbox("d1");
  mkdirSync(sandbox, { recursive: true });
  const m = await sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sandbox);
  if (m.code !== 0) {
    skip = `mounting a tmpfs is not permitted here (${m.err.trim() || `exit ${m.code}`}): the full-disk cases are skipped`;
    console.warn(`SKIPPED: ${skip}`);
    return;
  }
  mounted = true;
  mkdirSync(join(sandbox, "data/tree"), { recursive: true });
  writeFileSync(join(sandbox, "data/f"), "the old file\n");
  writeFileSync(join(sandbox, "data/page"), "the old page\n");
  writeFileSync(join(sandbox, "data/tree/part-0"), "old part\n");
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("d1");
  await w.waitHosts(["d1"]);
});

afterAll(async () => {
  for (const p of w?.agents.values() ?? []) p.kill("SIGKILL");
  await Promise.all([...(w?.agents.values() ?? [])].map((p) => p.proc.exited));
  if (mounted) await sh("umount", w.sandbox("d1"));
  await w?.[Symbol.asyncDispose]();
});

describe("a full disk (a 1 MiB tmpfs as --path)", () => {
  for (const what of ["copy", "render", "syncdir"] as const) {
    test(`${what}: rc 1 "no space left", the old file intact, no temporary file left`, async () => {
      if (skip) return void console.warn(`SKIPPED: ${skip}`);
      const data = join(w.sandbox("d1"), "data");
      const before = snapshot(data);
      const r = await w.salty(["apply", "--keyroot", w.keyroot, "-vv", `what=${what}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/"rc":1[^\n]*no space left on device/i);
      expect(tempFiles(data)).toEqual([]);
      expect(readFileSync(join(data, "f"), "utf8")).toBe("the old file\n");
      expect(readFileSync(join(data, "page"), "utf8")).toBe("the old page\n");
      if (what !== "syncdir") expect(snapshot(data)).toEqual(before);
      else {
        // Each file of the tree is its old version or the whole new one: never partial.
        for (const [rel, kind] of Object.entries(snapshot(join(data, "tree")))) {
          const whole = [
            sha256(readFileSync(join(w.fileroot, "files/tree", rel))),
            ...(rel === "part-0" ? [sha256("old part\n")] : []),
          ];
          expect(whole).toContain(kind.replace(/^file:/, ""));
        }
      }
    }, 60_000);
  }

  test("with room again, the next apply completes", async () => {
    if (skip) return void console.warn(`SKIPPED: ${skip}`);
    expect((await sh("mount", "-o", "remount,size=8m", w.sandbox("d1"))).code).toBe(0);
    const r = await w.salty(["apply", "--keyroot", w.keyroot, "what=copy"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(sha256(readFileSync(join(w.sandbox("d1"), "data/f")))).toBe(
      sha256(readFileSync(join(w.fileroot, "files/big/two-mb"))),
    );
    expect(tempFiles(w.sandbox("d1"))).toEqual([]);
  }, 60_000);
});
