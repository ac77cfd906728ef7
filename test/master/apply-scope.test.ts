// lib/master/apply-scope.ts: the public view of the hosts (every role
// context's `hosts`) is reused from one apply to the next only while the
// inventory and every host's facts are unchanged; any change makes a new one.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Facts } from "salty";
import { scopeFromInventory } from "../../lib/master/apply-scope.ts";
import { tempDirs } from "../_temp.ts";

const temp = tempDirs("salty-apply-scope-");

function fileroot(vars: string): string {
  const dir = temp();
  mkdirSync(join(dir, "hosts"));
  mkdirSync(join(dir, "roles"));
  writeFileSync(join(dir, "roles", "web.ts"), "export default () => {};\n");
  writeFileSync(
    join(dir, "hosts", "index.ts"),
    `export default { hosts: { prod: { "web*": { env: "prod", roles: ["web"], vars: ${vars} } } } };\n`,
  );
  return dir;
}

const facts = (hostname: string) => ({ hostname, kernel: "Linux" }) as unknown as Facts;
const req = { args: [], dryRun: false, diff: false };

test("the same inventory and the same facts objects: the last apply's view of the hosts, the same object", async () => {
  const dir = fileroot(`{ port: 80 }`);
  const known: Record<string, Facts> = { web1: facts("web1"), web2: facts("web2") };
  const deps = { fileroot: dir, factsOf: (id: string) => known[id] };
  const a = await scopeFromInventory(req, ["web1", "web2"], deps);
  const b = await scopeFromInventory(req, ["web1", "web2"], deps);
  expect(b.others).toBe(a.others);
  expect(Object.keys(a.others!)).toEqual(["web1", "web2"]);

  // web2 said hello again with other facts: a new view that holds them.
  known.web2 = facts("web2-renamed");
  const c = await scopeFromInventory(req, ["web1", "web2"], deps);
  expect(c.others).not.toBe(a.others);
  expect(c.others!.web2!.facts).toEqual(facts("web2-renamed"));

  // Another agent connected: a new view with it.
  known.web3 = facts("web3");
  const d = await scopeFromInventory(req, ["web1", "web2", "web3"], deps);
  expect(d.others).not.toBe(c.others);
  expect(Object.keys(d.others!)).toEqual(["web1", "web2", "web3"]);

  // The inventory edited: a new view with its vars.
  writeFileSync(
    join(dir, "hosts", "index.ts"),
    `export default { hosts: { prod: { "web*": { env: "prod", roles: ["web"], vars: { port: 8080 } } } } };\n`,
  );
  const e = await scopeFromInventory(req, ["web1", "web2", "web3"], deps);
  expect(e.others).not.toBe(d.others);
  expect(e.others!.web1!.vars).toEqual({ port: 8080 });
  expect(e.context("web1", "web").me.vars).toEqual({ port: 8080 });
});
