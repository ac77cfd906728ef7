// The role runner: results in call order, print output, and every way a role
// can go wrong reported as one rc 1 Result naming the role file and line,
// with the runner still working afterwards. The module loader itself is
// tested in test/sys/load-module.test.ts.

import { describe, expect, test } from "bun:test";
import { runRole } from "../../lib/agent/runner.ts";
import { baseContext, makeWorld } from "../operators/_world.ts";

/** Run a role in a fresh world; `inspect` sees the destination tree before it is removed. */
async function run(
  source: string,
  opts: {
    timeoutMs?: number;
    master?: Record<string, string>;
    inspect?: (prefix: string) => Promise<void>;
  } = {},
) {
  using w = await makeWorld({
    master: opts.master ?? {
      "files/app/a.conf": "a\n",
      "files/app/t.conf": "id=<%= id %> v=<%= version %>\n",
    },
  });
  const r = await runRole({
    name: "web",
    source,
    filename: "roles/web.ts",
    context: { ...baseContext, args: { version: "abc123" } },
    caps: w.ctx(),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  await opts.inspect?.(w.prefix);
  return r;
}

describe("runRole", () => {
  test("operators and context in one object; results in call order; print output", async () => {
    let conf = "";
    const r = await run(
      `import type { Role } from "salty";
import { join } from "node:path";
export default (async ({ copy, render, makedirs, print, isChanged, id, args, me }) => {
  print(\`start \${id} \${args.version}\`);
  await makedirs("/opt/app");
  await Promise.all([copy("app/a.conf", join("/opt/app", "a.conf")), render("app/t.conf", "/opt/app/t.conf")]);
  print({ changed: isChanged(), weight: me.vars.weight });
}) satisfies Role;
`,
      {
        inspect: async (prefix) => void (conf = await Bun.file(`${prefix}/opt/app/t.conf`).text()),
      },
    );
    expect(r.rc).toBe(0);
    expect(r.role).toBe("web");
    expect(r.results.map((x) => x.cmd)).toEqual([
      "makedirs(/opt/app, 0o755)",
      "copy(app/a.conf, /opt/app/a.conf)",
      "render(app/t.conf, /opt/app/t.conf)",
    ]);
    expect(r.results.every((x) => x.rc === 0 && x.changed)).toBe(true);
    expect(r.output).toBe("start web1.test abc123\n{\n  changed: true,\n  weight: 3,\n}");
    expect(conf).toBe("id=web1.test v=abc123\n");
  });

  test("an operator failure is its own rc 1 result and the role goes on", async () => {
    const r = await run(`export default async ({ copy, makedirs }) => {
  await copy("app/missing.conf", "/etc/m.conf");
  await makedirs("/opt/after");
};`);
    expect(r.rc).toBe(1);
    expect(r.results.map((x) => x.rc)).toEqual([1, 0]);
    expect(r.results[0]!.error).toBe(
      "copy(app/missing.conf, /etc/m.conf): no such file in the fileroot: files/app/missing.conf",
    );
  });

  test("a syntax error names the file, line and column", async () => {
    const r = await run("export default async () => {\n  const x = ;\n};\n");
    expect(r.rc).toBe(1);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]).toMatchObject({ cmd: "role(web)", rc: 1, changed: false });
    expect(r.results[0]!.error).toBe("roles/web.ts:2:13: syntax error: Unexpected ;");
  });

  test("a throw names the file and the line of the throw; earlier results are kept", async () => {
    const r = await run(`import type { Role } from "salty";

export default (async ({ makedirs }) => {
  await makedirs("/opt/x");
  const helper = (n: number) => {
    if (n > 1) throw new Error("boom " + n);
  };
  helper(2);
}) satisfies Role;
`);
    expect(r.rc).toBe(1);
    expect(r.results.map((x) => x.cmd)).toEqual(["makedirs(/opt/x, 0o755)", "role(web)"]);
    expect(r.results[1]!.error).toBe("roles/web.ts:6: boom 2");
  });

  test("an import other than node:* is refused before anything runs", async () => {
    const r = await run(
      `import { join } from "node:path";\nimport _ from "lodash";\nexport default async ({ makedirs }) => { await makedirs(join("/opt", _.VERSION)); };\n`,
    );
    expect(r.results).toHaveLength(1);
    expect(r.results[0]!.error).toBe(
      'roles/web.ts:2: imports "lodash": only node:* built-ins may be imported at run time',
    );
    const bare = await run(
      `import fs from "fs";\nexport default async () => { fs.existsSync("/"); };\n`,
    );
    expect(bare.results[0]!.error).toContain(
      'imports "fs": only node:* built-ins may be imported at run time (write "node:fs" for a built-in)',
    );
  });

  test("a role importing its types without `import type` runs (the import is erased)", async () => {
    const r = await run(
      `import { Role } from "salty";\nexport default (async ({ print }) => { print("typed"); }) satisfies Role;\n`,
    );
    expect(r).toMatchObject({ rc: 0, output: "typed" });
  });

  test("a default export that is not a function", async () => {
    const r = await run(`export default 42;\n`);
    expect(r.results[0]!.error).toBe("roles/web.ts: the default export is not a function");
  });

  test("a role past its timeout fails, its command is killed, later operator calls do nothing", async () => {
    const start = performance.now();
    let after = true;
    const r = await run(
      `export default async ({ shell, makedirs }) => {
  await makedirs("/opt/before");
  await shell("sleep 30");
  await makedirs("/opt/after");
  for (;;) await new Promise((r) => setTimeout(r, 10));
};`,
      {
        timeoutMs: 300,
        inspect: async (prefix) => {
          await Bun.sleep(100);
          after = await Bun.file(`${prefix}/opt/after`).exists();
        },
      },
    );
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(r.rc).toBe(1);
    expect(r.results.at(-1)).toMatchObject({
      cmd: "role(web)",
      rc: 1,
      error: "roles/web.ts: timed out after 0.3s",
    });
    expect(after).toBe(false);
    // The runner keeps working.
    const next = await run(`export default async ({ print }) => { print("still here"); };`);
    expect(next).toMatchObject({ rc: 0, output: "still here" });
  });
});
