// loadInventory on real files in a temp fileroot: fresh at every call, loader
// errors as E_INVENTORY naming hosts/index.ts, missing file or default export.
// The loader itself (imports, caching, temp files) is tested in
// test/sys/load-module.test.ts.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { validateInventory } from "../../lib/inventory/validate.ts";
import { SaltyError } from "../../lib/errors.ts";
import { tempDirs } from "../_temp.ts";

const temp = tempDirs("salty-inv-test-");

function fileroot(source?: string): string {
  const root = temp();
  mkdirSync(join(root, "hosts"));
  if (source !== undefined) writeFileSync(join(root, "hosts", "index.ts"), source);
  return root;
}

async function loadError(root: string): Promise<SaltyError> {
  const err = await loadInventory(root).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SaltyError);
  expect((err as SaltyError).code).toBe("E_INVENTORY");
  return err as SaltyError;
}

const inventory = (weight: number) => `import type { Inventory } from "salty";
import { Inventory as AlsoOnlyAType } from "salty";
import { join } from "node:path";

const clusters: Record<string, { domain: string }> = { prod: { domain: join("foo", "dev") } };
export default {
  clusters,
  envs: { prod: {} },
  hosts: { prod: { "web1.foo.dev": { env: "prod", roles: ["nginx"], vars: { weight: ${weight} } } } },
} satisfies Inventory satisfies AlsoOnlyAType;
`;

describe("loadInventory", () => {
  test("loads TypeScript with type-only and node:* imports", async () => {
    const root = fileroot(inventory(3));
    const inv = validateInventory(await loadInventory(root));
    expect(inv.clusters).toEqual({ prod: { domain: "foo/dev" } });
    expect(inv.hosts.prod!["web1.foo.dev"]!.vars).toEqual({ weight: 3 });
  });

  test("an edit takes effect at the next load, and an edit back too", async () => {
    const root = fileroot(inventory(1));
    const weight = async () =>
      (
        validateInventory(await loadInventory(root)).hosts.prod!["web1.foo.dev"]!.vars as {
          weight: number;
        }
      ).weight;
    expect(await weight()).toBe(1);
    writeFileSync(join(root, "hosts", "index.ts"), inventory(2));
    expect(await weight()).toBe(2);
    writeFileSync(join(root, "hosts", "index.ts"), inventory(1));
    expect(await weight()).toBe(1);
  });

  test("a syntax error names the file, line and column", async () => {
    const root = fileroot(
      `export default {\n  hosts: {\n    prod: { web1: { env: "prod", roles: [,, } },\n  },\n};\n`,
    );
    expect((await loadError(root)).message).toBe("hosts/index.ts:3:45: syntax error: Unexpected }");
  });

  test("an import other than node:* is refused", async () => {
    const root = fileroot(
      `\nimport fs from "fs";\nexport default { hosts: fs.existsSync("/") };\n`,
    );
    expect((await loadError(root)).message).toBe(
      'hosts/index.ts:2: imports "fs": only node:* built-ins may be imported at run time (write "node:fs" for a built-in)',
    );
  });

  test("an error thrown while the module runs is reported with the file and line", async () => {
    const root = fileroot(
      `const x: number = 1;\nif (x) throw new Error("boom");\nexport default {};\n`,
    );
    expect((await loadError(root)).message).toBe("hosts/index.ts:2: boom");
  });

  test("a missing file and a missing default export are clear errors", async () => {
    expect((await loadError(fileroot())).message).toMatch(
      /^hosts\/index\.ts: not found \(fileroot .*salty-inv-test-/,
    );
    expect((await loadError(fileroot(`export const hosts = {};\n`))).message).toMatch(
      /^hosts\/index\.ts: no default export/,
    );
  });
});
