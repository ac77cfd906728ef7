// loadInventory on real files in a temp fileroot: fresh at every call, syntax
// errors and refused imports with file and line, nothing left in the temp dir.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { validateInventory } from "../../lib/inventory/validate.ts";
import { SaltyError } from "../../lib/errors.ts";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function fileroot(source?: string): string {
  const root = mkdtempSync(join(tmpdir(), "salty-inv-test-"));
  roots.push(root);
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
    const weight = async () => (validateInventory(await loadInventory(root)).hosts.prod!["web1.foo.dev"]!.vars as { weight: number }).weight;
    expect(await weight()).toBe(1);
    writeFileSync(join(root, "hosts", "index.ts"), inventory(2));
    expect(await weight()).toBe(2);
    writeFileSync(join(root, "hosts", "index.ts"), inventory(1));
    expect(await weight()).toBe(1);
  });

  test("a syntax error names the file and line", async () => {
    const root = fileroot(`export default {\n  hosts: {\n    prod: { web1: { env: "prod", roles: [,, } },\n  },\n};\n`);
    const err = await loadError(root);
    expect(err.message).toMatch(/^hosts\/index\.ts:3:\d+: syntax error: /);
  });

  test.each([
    ["a relative import", `import { more } from "./more.ts";\nexport default { hosts: more };\n`, 'hosts/index.ts:1: imports "./more.ts": only node:* built-ins may be imported at run time'],
    ["a package", `\nimport lodash from "lodash";\nexport default { hosts: lodash };\n`, 'hosts/index.ts:2: imports "lodash": only node:* built-ins may be imported at run time (write "node:lodash" for a built-in)'],
    ["a bare built-in", `import fs from "fs";\nexport default { hosts: fs.existsSync("/") };\n`, 'hosts/index.ts:1: imports "fs": only node:* built-ins may be imported at run time (write "node:fs" for a built-in)'],
    ["a dynamic import", `const m = await import("./x.ts");\nexport default m;\n`, 'hosts/index.ts:1: imports "./x.ts": only node:* built-ins may be imported at run time'],
    ["a require", `const m = require("bun:sqlite");\nexport default m;\n`, 'hosts/index.ts:1: imports "bun:sqlite": only node:* built-ins may be imported at run time'],
  ])("%s is refused before anything runs", async (_name, source, message) => {
    const root = fileroot(source);
    expect((await loadError(root)).message).toBe(message);
  });

  test("an error thrown while the module runs is reported with the file", async () => {
    const root = fileroot(`const x: number = 1;\nif (x) throw new Error("boom");\nexport default {};\n`);
    expect((await loadError(root)).message).toBe("hosts/index.ts: failed to load: boom");
  });

  test("a missing file and a missing default export are clear errors", async () => {
    expect((await loadError(fileroot())).message).toMatch(/^hosts\/index\.ts: not found \(fileroot .*salty-inv-test-/);
    expect((await loadError(fileroot(`export const hosts = {};\n`))).message).toMatch(/^hosts\/index\.ts: no default export/);
  });

  test("the same text is evaluated once; a failed load can be retried after a fix", async () => {
    // A counter of its own: other test files load modules in this same process.
    const counter = `__saltyLoads_${crypto.randomUUID().replaceAll("-", "")}`;
    const root = fileroot(`(globalThis as any).${counter} = ((globalThis as any).${counter} ?? 0) + 1;\nexport default { hosts: {} };\n`);
    await loadInventory(root);
    await loadInventory(root);
    expect((globalThis as Record<string, unknown>)[counter]).toBe(1);
    const bad = fileroot(`throw new Error("not yet");\nexport default {};\n`);
    await loadError(bad);
    writeFileSync(join(bad, "hosts", "index.ts"), `export default { hosts: {} };\n`);
    expect(await loadInventory(bad)).toEqual({ hosts: {} });
  });

  test("leaves no temp files behind", async () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith("salty-module-")));
    await loadInventory(fileroot(inventory(99)));
    await loadError(fileroot(`throw new Error("x");\nexport default {};\n`));
    const after = readdirSync(tmpdir()).filter((f) => f.startsWith("salty-module-") && !before.has(f));
    expect(after).toEqual([]);
  });
});
