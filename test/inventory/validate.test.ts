import { expect, test } from "bun:test";
import { InventoryError, validateInventory } from "../../lib/inventory/validate.ts";

const ok = () => ({
  clusters: { prod: { domain: "foo.dev" }, dev: {} },
  envs: { prod: { level: "warn" }, dev: {} },
  hosts: {
    prod: {
      "web1.foo.dev": { env: "prod", roles: ["users", "nginx"], vars: { weight: 3 } },
      "p-*.foo.dev": { env: "prod", roles: ["users"], ignore_missing: true },
    },
    dev: { dev1: { env: "dev", roles: [] } },
  },
});

function problems(raw: unknown): string[] {
  try {
    validateInventory(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as InventoryError).code).toBe("E_INVENTORY");
    return (err as InventoryError).problems;
  }
  return [];
}

function withHost(spec: unknown, id = "web1") {
  const inv = ok() as Record<string, unknown> & { hosts: Record<string, Record<string, unknown>> };
  inv.hosts.prod![id] = spec;
  return inv;
}

test("tags: names of the host's roles", () => {
  expect(problems(withHost({ env: "prod", roles: ["base", "web"], tags: ["web"] }))).toEqual([]);
});

test("a good inventory passes and comes back as a copy with clusters and envs filled in", () => {
  const raw = ok();
  const inv = validateInventory(raw);
  expect(inv).toEqual(raw);
  expect(inv.hosts).not.toBe(raw.hosts);
  expect(validateInventory({ hosts: { c: { h: { env: "e", roles: ["r"] } } } })).toEqual({
    clusters: {},
    envs: {},
    hosts: { c: { h: { env: "e", roles: ["r"] } } },
  });
});

test.each([
  [
    "unknown env",
    withHost({ env: "prd", roles: ["a"] }),
    'hosts.prod.web1: unknown env "prd" (known: prod, dev)',
  ],
  ["missing env", withHost({ roles: ["a"] }), "hosts.prod.web1: missing env"],
  ["env not a string", withHost({ env: 3, roles: ["a"] }), "hosts.prod.web1: env must be a string"],
  ["missing roles", withHost({ env: "prod" }), "hosts.prod.web1: missing roles"],
  [
    "roles a string",
    withHost({ env: "prod", roles: "nginx" }),
    "hosts.prod.web1: roles must be an array of strings",
  ],
  [
    "roles with a number",
    withHost({ env: "prod", roles: ["a", 2] }),
    "hosts.prod.web1: roles must be an array of strings",
  ],
  [
    "role with a slash",
    withHost({ env: "prod", roles: ["../x"] }),
    'hosts.prod.web1: role "../x" is not a valid role name (letters, digits, _ . -)',
  ],
  [
    "role twice",
    withHost({ env: "prod", roles: ["a", "a"] }),
    'hosts.prod.web1: role "a" is listed twice',
  ],
  [
    "vars not an object",
    withHost({ env: "prod", roles: [], vars: [1] }),
    "hosts.prod.web1: vars must be an object",
  ],
  [
    "a function in vars",
    withHost({ env: "prod", roles: [], vars: { f: () => 1 } }),
    "hosts.prod.web1.vars.f: must be plain data (found function)",
  ],
  [
    "a Date deep in vars",
    withHost({ env: "prod", roles: [], vars: { a: [{ when: new Date(0) }] } }),
    "hosts.prod.web1.vars.a[0].when: must be plain data (found Date)",
  ],
  [
    "NaN in vars",
    withHost({ env: "prod", roles: [], vars: { n: NaN } }),
    "hosts.prod.web1.vars.n: must be a finite number",
  ],
  [
    "ignore_missing not boolean",
    withHost({ env: "prod", roles: [], ignore_missing: "yes" }),
    "hosts.prod.web1: ignore_missing must be true or false",
  ],
  [
    "unknown host key",
    withHost({ env: "prod", roles: [], var: {} }),
    'hosts.prod.web1: unknown key "var" (expected env, roles, tags, vars, ignore_missing)',
  ],
  [
    "tags not a list",
    withHost({ env: "prod", roles: ["web"], tags: "web" }),
    "hosts.prod.web1: tags must be an array of strings",
  ],
  [
    "a tag that is not a role",
    withHost({ env: "prod", roles: ["base"], tags: ["web"] }),
    'hosts.prod.web1: tag "web" is not one of its roles (a tag is a role name without roles/web.ts)',
  ],
  [
    "env named like an Object.prototype member",
    withHost({ env: "toString", roles: [] }),
    'hosts.prod.web1: unknown env "toString" (known: prod, dev)',
  ],
  [
    "cluster named like an Object.prototype member",
    { ...ok(), hosts: { ...ok().hosts, constructor: {} } },
    'hosts.constructor: unknown cluster "constructor" (known: prod, dev)',
  ],
  ["host not an object", withHost(["web"]), "hosts.prod.web1 must be an object with env and roles"],
  [
    "dotted id in brackets",
    withHost({ env: "prd", roles: [] }, "db1.foo.dev"),
    'hosts.prod["db1.foo.dev"]: unknown env "prd" (known: prod, dev)',
  ],
  [
    "empty id",
    withHost({ env: "prod", roles: [] }, ""),
    'hosts.prod[""]: a host id must be non-empty and without spaces',
  ],
  [
    "id with a space",
    withHost({ env: "prod", roles: [] }, "a b"),
    'hosts.prod["a b"]: a host id must be non-empty and without spaces',
  ],
  [
    "duplicate id across clusters",
    { ...ok(), hosts: { ...ok().hosts, dev: { "web1.foo.dev": { env: "dev", roles: [] } } } },
    'hosts.dev["web1.foo.dev"]: duplicate host id, already in hosts.prod',
  ],
  [
    "unknown cluster",
    { ...ok(), hosts: { ...ok().hosts, qa: {} } },
    'hosts.qa: unknown cluster "qa" (known: prod, dev)',
  ],
  [
    "cluster not an object",
    { ...ok(), hosts: { prod: [] } },
    "hosts.prod must be an object of host id -> { env, roles }",
  ],
  [
    "missing hosts",
    { clusters: {}, envs: {} },
    "missing hosts (cluster -> host id -> { env, roles })",
  ],
  [
    "hosts not an object",
    { hosts: [] },
    "hosts must be an object of cluster -> host id -> { env, roles }",
  ],
  [
    "unknown top-level key",
    { ...ok(), host: {} },
    'unknown key "host" (expected clusters, envs, hosts)',
  ],
  ["envs not an object", { ...ok(), envs: "prod" }, "envs must be an object of env name -> vars"],
  [
    "an env's vars not an object",
    { ...ok(), envs: { ...ok().envs, qa: 3 } },
    "envs.qa must be an object (its vars)",
  ],
  [
    "a cluster var not plain data",
    { ...ok(), clusters: { ...ok().clusters, dev: { m: new Map() } } },
    "clusters.dev.m: must be plain data (found Map)",
  ],
])("%s", (_name, raw, message) => {
  expect(problems(raw)).toEqual([message]);
});

test("not an object at all", () => {
  expect(problems(undefined)).toEqual([
    "the default export must be an object with `hosts` (and optional `clusters`, `envs`)",
  ]);
  expect(problems([])).toHaveLength(1);
});

test("every problem is reported, and the message names the file", () => {
  const raw = { ...ok(), hosts: { prod: { a: { env: "prd", roles: "x" }, b: { env: "prod" } } } };
  let err: InventoryError | undefined;
  try {
    validateInventory(raw);
  } catch (e) {
    err = e as InventoryError;
  }
  expect(err?.problems).toEqual([
    'hosts.prod.a: unknown env "prd" (known: prod, dev)',
    "hosts.prod.a: roles must be an array of strings",
    "hosts.prod.b: missing roles",
  ]);
  expect(err?.message).toBe(
    'hosts/index.ts: 3 problems:\n  hosts.prod.a: unknown env "prd" (known: prod, dev)\n  hosts.prod.a: roles must be an array of strings\n  hosts.prod.b: missing roles',
  );
  expect(() => validateInventory(withHost({ roles: [] }))).toThrow(
    "hosts/index.ts: hosts.prod.web1: missing env",
  );
});

test("without envs or clusters sections any name is accepted", () => {
  expect(problems({ hosts: { anywhere: { h: { env: "whatever", roles: [] } } } })).toEqual([]);
});
