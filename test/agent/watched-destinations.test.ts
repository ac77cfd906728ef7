// The agent keeps its syncdir destinations' walks while inotify reports no
// change below them. That must never hide a change: not one the agent makes
// itself within an apply (its writes and commands forget every tree at once,
// without waiting for inotify), and not one made by someone else once inotify
// has reported it.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutor, forgetting } from "../../lib/agent/runner.ts";
import type { Disk, Exec } from "../../lib/sys/types.ts";
import type { RoleCaps } from "../../lib/agent/session.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";
import { localFilesystem } from "../../lib/sys/watched-trees.ts";
import { baseContext } from "../operators/_world.ts";
import { counters, dirSource } from "../operators/_fakes.ts";
import { tempDirs } from "../_temp.ts";

const temp = tempDirs("salty-watched-dst-");

function world() {
  const root = temp();
  const fileroot = join(root, "fileroot"),
    prefix = join(root, "dst");
  mkdirSync(join(fileroot, "files/app/sub"), { recursive: true });
  mkdirSync(prefix);
  writeFileSync(join(fileroot, "files/app/a.txt"), "a\n");
  writeFileSync(join(fileroot, "files/app/sub/b.txt"), "b\n");
  writeFileSync(join(fileroot, "files/extra.txt"), "extra\n");
  const caps: RoleCaps = {
    files: dirSource(fileroot, counters()),
    serverShell: () => Promise.reject(new Error("no server shell")),
  };
  const execute = createExecutor({ pathPrefix: prefix });
  const run = async (body: string) => {
    const req: RunRoleRequest = {
      role: "app",
      source: `export default async (ops) => { ${body} };`,
      filename: "roles/app.ts",
      context: baseContext,
      dryRun: false,
      diff: false,
      timeoutMs: 10_000,
    };
    const report = await execute(req, caps);
    for (const r of report.results) expect(r.error).toBeUndefined();
    return report.results;
  };
  return { prefix, run, dst: (p: string) => join(prefix, "srv/app", p) };
}

const sync = `await ops.syncdir("files/app", "/srv/app");`;

describe.skipIf(!localFilesystem(tmpdir()))("watched syncdir destinations", () => {
  test("a file the agent copied into the destination is removed by the syncdir right after it", async () => {
    const w = world();
    await w.run(sync);
    const results = await w.run(`await ops.copy("extra.txt", "/srv/app/extra.txt"); ${sync}`);
    expect(results.map((r) => r.changes ?? r.changed)).toEqual([
      true,
      { added: 0, updated: 0, removed: 1 },
    ]);
    expect(existsSync(w.dst("extra.txt"))).toBe(false);
  });

  test("a file a role's command changed is restored by the syncdir right after it", async () => {
    const w = world();
    await w.run(sync);
    const results = await w.run(
      `await ops.shell(${JSON.stringify(`printf 'edited by hand\\n' > ${w.dst("a.txt")}`)}); ${sync}`,
    );
    expect(results[1]!.changes).toEqual({ added: 0, updated: 1, removed: 0 });
    expect(readFileSync(w.dst("a.txt"), "utf8")).toBe("a\n");
  });

  test("a change made by someone else is seen once inotify has reported it", async () => {
    const w = world();
    await w.run(sync);
    expect((await w.run(sync))[0]!.changes).toEqual({ added: 0, updated: 0, removed: 0 });
    writeFileSync(w.dst("sub/b.txt"), "changed behind salty's back\n");
    writeFileSync(w.dst("sub/stray.txt"), "left behind\n");
    await Bun.sleep(500); // inotify reports within a few milliseconds; a loaded machine gets some slack
    expect((await w.run(sync))[0]!.changes).toEqual({ added: 0, updated: 1, removed: 1 });
    expect(readFileSync(w.dst("sub/b.txt"), "utf8")).toBe("b\n");
    expect(existsSync(w.dst("sub/stray.txt"))).toBe(false);
  });
});

test("every change through the agent's disk makes the watched trees forget its paths, and every command all of them", async () => {
  const forgotten: string[] = [];
  const calls: string[] = [];
  const disk = new Proxy({} as Disk, {
    get: (_t, name: string) => async () => void calls.push(`${name} after ${forgotten.join(",")}`),
  });
  const exec: Exec = async () => (calls.push("exec"), { rc: 0, output: "" });
  const ports = forgetting(
    { forget: (path?: string) => void forgotten.push(path ?? "*") },
    { disk, exec },
  );
  const owner = { uid: 0, gid: 0 };
  await ports.disk.create("/a", 0o644, owner);
  await ports.disk.rename("/a", "/b");
  await ports.disk.remove("/c");
  await ports.disk.mkdir("/d", 0o755);
  await ports.disk.chmod("/e", 0o700);
  await ports.disk.lchown("/f", owner);
  await ports.disk.symlink("/target", "/g");
  await ports.disk.utimes("/h", 0n);
  await ports.exec(["true"]);
  // Each disk change is preceded by forgetting its paths; a command is followed by forgetting everything.
  expect(calls.map((c) => c.replace(/ after .*,/, " after …,"))).toEqual([
    "create after /a",
    "rename after …,/b",
    "remove after …,/c",
    "mkdir after …,/d",
    "chmod after …,/e",
    "lchown after …,/f",
    "symlink after …,/g",
    "utimes after …,/h",
    "exec",
  ]);
  expect(forgotten).toEqual(["/a", "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "*"]);
});
