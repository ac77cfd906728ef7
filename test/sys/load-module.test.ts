// The one module loader (hosts/index.ts and roles): type-only imports erased,
// only node:* imports at run time (refused before anything runs, a hint only
// for real built-ins), syntax errors with file:line:col, errors at load and at
// run time with the TypeScript line, evaluated once per text, a failed load
// retried, nothing left in the temp dir.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { SaltyError } from "../../lib/errors.ts";
import { lineIn, loadModule } from "../../lib/sys/load-module.ts";
import { tempDir, type TempDir } from "../_temp.ts";

const opts = { filename: "roles/web.ts", code: "E_TEST" };

/** A global of this test's own: other test files load modules in this same process. */
function uniqueGlobal(): string {
  return `__saltyTest_${crypto.randomUUID().replaceAll("-", "")}`;
}
const globals = globalThis as Record<string, unknown>;

async function loadError(source: string, filename = opts.filename): Promise<SaltyError> {
  const err = await loadModule(source, { ...opts, filename }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SaltyError);
  expect((err as SaltyError).code).toBe("E_TEST");
  return err as SaltyError;
}

// Every module gets its own temp dir for the test, so that another process's
// salty-module-* dirs in /tmp cannot disturb the "nothing left behind" check.
let tmp = "";
let scratch: TempDir | undefined;
const savedTmp = process.env.TMPDIR;
beforeEach(() => {
  scratch = tempDir("salty-load-test-");
  tmp = scratch.path;
  process.env.TMPDIR = tmp;
});
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  scratch?.[Symbol.dispose]();
});

describe("loadModule", () => {
  test("imports used only as types are erased, with or without `import type`; node:* imports load", async () => {
    const { namespace } = await loadModule(
      `import type { Inventory } from "salty";
import { Role, Inventory as AlsoOnlyAType } from "salty";
import { join } from "node:path";
export const where = join("foo", "dev");
export default (async () => {}) satisfies Role;
export const inv = { hosts: {} } satisfies Inventory satisfies AlsoOnlyAType;
`,
      opts,
    );
    expect(namespace.where).toBe("foo/dev");
    expect(namespace.inv).toEqual({ hosts: {} });
    expect(typeof namespace.default).toBe("function");
  });

  test("an import never used as a value is erased like a type-only one (as Bun erases it at run time)", async () => {
    const { namespace } = await loadModule(
      `import _ from "lodash";\nexport default "no lodash needed";\n`,
      opts,
    );
    expect(namespace.default).toBe("no lodash needed");
  });

  test.each([
    [
      "an inventory",
      "hosts/index.ts",
      `export default {\n  hosts: {\n    prod: { web1: { env: "prod", roles: [,, } },\n  },\n};\n`,
      "hosts/index.ts:3:45: syntax error: Unexpected }",
    ],
    [
      "a role",
      "roles/web.ts",
      "export default async () => {\n  const x = ;\n};\n",
      "roles/web.ts:2:13: syntax error: Unexpected ;",
    ],
    [
      "a redeclaration",
      "roles/web.ts",
      "let a = 1;\nlet a = 2;\n",
      'roles/web.ts:2:5: syntax error: "a" has already been declared',
    ],
    [
      "two default exports",
      "roles/web.ts",
      "export default 1;\nexport default 2;\n",
      'roles/web.ts:2:8: syntax error: Multiple exports with the same name "default"',
    ],
  ])("a syntax error in %s names file:line:col", async (_name, filename, source, message) => {
    expect((await loadError(source, filename)).message).toBe(message);
  });

  const refused = " only node:* built-ins may be imported at run time";
  test.each([
    [
      "a relative import",
      `import { more } from "./more.ts";\nexport default { hosts: more };\n`,
      `roles/web.ts:1: imports "./more.ts":${refused}, and .ts modules under roles/lib/ relatively (this is roles/more.ts)`,
    ],
    [
      "a package (no hint: not a built-in)",
      `import { join } from "node:path";\nimport _ from "lodash";\nexport default join(_.VERSION);\n`,
      `roles/web.ts:2: imports "lodash":${refused}`,
    ],
    [
      "a package only imported for its effects",
      `\nimport "lodash";\n`,
      `roles/web.ts:2: imports "lodash":${refused}`,
    ],
    [
      "a bare built-in",
      `import fs from "fs";\nexport default fs.existsSync("/");\n`,
      `roles/web.ts:1: imports "fs":${refused} (write "node:fs" for a built-in)`,
    ],
    [
      "a bare built-in subpath",
      `import { readFile } from 'fs/promises';\nexport default readFile;\n`,
      `roles/web.ts:1: imports "fs/promises":${refused} (write "node:fs/promises" for a built-in)`,
    ],
    [
      "a dynamic import",
      `const m = await import(\`./x.ts\`);\nexport default m;\n`,
      `roles/web.ts:1: imports "./x.ts":${refused}, and .ts modules under roles/lib/ relatively (this is roles/x.ts)`,
    ],
    [
      "a require of a bun: module (no node: hint)",
      `const m = require("bun:sqlite");\nexport default m;\n`,
      `roles/web.ts:1: imports "bun:sqlite":${refused}`,
    ],
  ])("%s is refused before anything runs", async (_name, source, message) => {
    const ran = uniqueGlobal();
    // The marker shares line 1, so the expected line numbers are those of `source`.
    expect((await loadError(`(globalThis as any).${ran} = true; ${source}`)).message).toBe(message);
    expect(globals[ran]).toBeUndefined();
  });

  test("an error thrown while the module loads names the file and its TypeScript line", async () => {
    expect(
      (
        await loadError(
          `const x: number = 1;\n\ninterface Unused { a: string }\nif (x) throw new Error("boom");\nexport default {};\n`,
          "hosts/index.ts",
        )
      ).message,
    ).toBe("hosts/index.ts:4: boom");
  });

  test("lineIn: an error thrown later by the module names the line of the throw in the TypeScript source", async () => {
    const mod = await loadModule(
      `import type { Role } from "salty";

type Args = { n: number };
export default (async ({ n }: Args) => {
  const helper = (m: number): void => {
    if (m > 1) throw new Error("boom " + m);
  };
  helper(n);
}) as unknown as Role;
`,
      opts,
    );
    const err = await (mod.namespace.default as (a: { n: number }) => Promise<void>)({
      n: 2,
    }).catch((e: unknown) => e);
    expect(lineIn(err, mod, "roles/web.ts")).toBe("roles/web.ts:6");
    expect(lineIn(new Error("elsewhere"), mod, "roles/web.ts")).toBe("roles/web.ts");
    expect(lineIn(err, undefined, "roles/web.ts")).toBe("roles/web.ts");
  });

  test("the same text is evaluated once, also when loaded concurrently; a changed text (even a comment) anew; an edit back is cached", async () => {
    const counter = uniqueGlobal();
    const src = `(globalThis as any).${counter} = ((globalThis as any).${counter} ?? 0) + 1;\nexport default (globalThis as any).${counter};\n`;
    const [a, b] = await Promise.all([loadModule(src, opts), loadModule(src, opts)]);
    const c = await loadModule(src, opts);
    expect(globals[counter]).toBe(1);
    expect(b.namespace).toBe(a.namespace);
    expect(c.namespace).toBe(a.namespace);
    const changed = await loadModule(`${src}// changed\n`, opts);
    expect(changed.namespace.default).toBe(2);
    expect((await loadModule(src, opts)).namespace).toBe(a.namespace);
    expect(globals[counter]).toBe(2);
  });

  test("a failed load is not cached: the same text loads once what it needs is there", async () => {
    const ready = uniqueGlobal();
    const src = `if (!(globalThis as any).${ready}) throw new Error("not yet");\nexport default "loaded";\n`;
    expect((await loadError(src)).message).toBe("roles/web.ts:1: not yet");
    globals[ready] = true;
    expect((await loadModule(src, opts)).namespace.default).toBe("loaded");
  });

  test.each([
    [
      "the module itself",
      `import { defineRole } from "salty";\nexport default defineRole({ defaults: { n: 1 } }, async (_ctx, vars) => vars.n);\n`,
      {},
    ],
    ["a re-export", `export { defineRole as d } from "salty";\nexport default 1;\n`, {}],
    [
      "a roles/lib module it imports",
      `import { role } from "./lib/def.ts";\nexport default role;\n`,
      {
        "roles/lib/def.ts": `import { defineRole } from "salty";\nexport const role = defineRole({ defaults: { n: 1 } }, async (_ctx, vars) => vars.n);\n`,
      },
    ],
  ])(
    "salty's run-time exports load when %s imports them (written only then)",
    async (_what, source, modules) => {
      const tag = uniqueGlobal();
      const { namespace } = await loadModule(`${source}// ${tag}\n`, { ...opts, modules });
      const d = namespace.d ?? namespace.default;
      expect(d).toBeDefined();
      if (typeof namespace.default === "function") expect(await namespace.default({})).toBe(1);
      expect(readdirSync(tmp)).toEqual([]);
    },
  );

  test("leaves no temp files behind, loaded or failed", async () => {
    await loadModule(`export default "${uniqueGlobal()}";\n`, opts);
    await loadError(`throw new Error("x");\n`);
    await loadError(`import "lodash";\n`);
    await loadError(`let = ;\n`);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
