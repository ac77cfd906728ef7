import { describe, expect, test } from "bun:test";
import { parseApplyArgs } from "../../lib/inventory/args.ts";
import {
  hostMatcher,
  scopeApply,
  type InventoryPlan,
  type PlanStatus,
} from "../../lib/inventory/resolve.ts";
import { validateInventory } from "../../lib/inventory/validate.ts";
import { UsageError } from "../../lib/errors.ts";

const inv = validateInventory({
  clusters: { prod: { domain: "foo.dev", level: "cluster" }, stage: { domain: "stage.dev" } },
  envs: { prod: { level: "env", region: "eu", tier: "gold" }, stage: { level: "env-stage" } },
  hosts: {
    prod: {
      "web1.foo.dev": {
        env: "prod",
        roles: ["users", "nginx", "app"],
        vars: { tier: "web", weight: 3 },
      },
      "web2.foo.dev": { env: "prod", roles: ["users", "nginx"] },
      "p-*.foo.dev": { env: "prod", roles: ["users", "worker"], ignore_missing: true },
      "p-1?.foo.dev": { env: "prod", roles: ["users", "special"] },
    },
    stage: {
      "s1.stage.dev": { env: "stage", roles: ["users", "app"], ignore_missing: true },
      "*.stage.dev": { env: "stage", roles: ["users"] },
    },
  },
});

function plan(connected: string[], argv: string[] = []): InventoryPlan {
  return scopeApply(inv, connected, parseApplyArgs(argv));
}
function statuses(p: InventoryPlan): Record<string, PlanStatus> {
  return Object.fromEntries(p.hosts.map((h) => [h.id, h.status]));
}
function host(p: InventoryPlan, id: string) {
  const h = p.hosts.find((x) => x.id === id);
  if (!h) throw new Error(`no ${id} in plan`);
  return h;
}
const all = [
  "web1.foo.dev",
  "web2.foo.dev",
  "p-1.foo.dev",
  "p-2.foo.dev",
  "p-10.foo.dev",
  "s1.stage.dev",
  "s2.stage.dev",
];

describe("vars", () => {
  test("merge env < cluster < host", () => {
    const p = plan(all);
    expect(host(p, "web1.foo.dev").vars).toEqual({
      level: "cluster",
      region: "eu",
      tier: "web",
      domain: "foo.dev",
      weight: 3,
    });
    expect(host(p, "web2.foo.dev").vars).toEqual({
      level: "cluster",
      region: "eu",
      tier: "gold",
      domain: "foo.dev",
    });
    expect(host(p, "s2.stage.dev").vars).toEqual({ level: "env-stage", domain: "stage.dev" });
  });
  test("each host gets its own vars object (no sharing between hosts)", () => {
    const p = plan(all);
    expect(host(p, "p-1.foo.dev").vars).not.toBe(host(p, "p-2.foo.dev").vars);
  });
});

describe("globs", () => {
  test.each([
    ["p-*.foo.dev", "p-1.foo.dev", true],
    ["p-*.foo.dev", "p-.foo.dev", true],
    ["p-*.foo.dev", "p-1xfoo.dev", false],
    ["p-?.foo.dev", "p-12.foo.dev", false],
    ["*", "a.b.c", true],
    ["web[1].foo", "web1.foo", true],
    ["web[1].foo", "web[1].foo", false],
    ["web[12]", "web2", true],
    ["web[12]", "web3", false],
    ["web[!1]", "web2", true],
    ["{web1,db1}", "db1", true],
    ["{web1,db1}", "web2", false],
    ["a+b", "a+b", true],
    ["a+b", "aab", false],
    ["web1", "web1", true],
    ["web1", "web10", false],
  ])("%s matches %s: %p", (glob, id, matches) => {
    expect(hostMatcher(glob)(id)).toBe(matches);
  });

  test("a glob expands to its connected matches sorted; an exact id wins; the first matching glob wins", () => {
    const p = plan(["p-2.foo.dev", "p-10.foo.dev", "p-1.foo.dev", "s1.stage.dev", "s2.stage.dev"]);
    expect(p.hosts.map((h) => [h.id, h.entry, h.cluster])).toEqual([
      ["web1.foo.dev", "web1.foo.dev", "prod"],
      ["web2.foo.dev", "web2.foo.dev", "prod"],
      ["p-1.foo.dev", "p-*.foo.dev", "prod"],
      ["p-10.foo.dev", "p-*.foo.dev", "prod"], // p-1?.foo.dev matches too, but p-*.foo.dev comes first
      ["p-2.foo.dev", "p-*.foo.dev", "prod"],
      ["s1.stage.dev", "s1.stage.dev", "stage"], // exact, though *.stage.dev matches
      ["s2.stage.dev", "*.stage.dev", "stage"],
    ]);
    expect(host(p, "p-10.foo.dev").roles.map((r) => r.name)).toEqual(["users", "worker"]);
    expect(p.unmatchedGlobs).toEqual(["p-1?.foo.dev"]);
  });

  test("connected agents the inventory does not know are listed", () => {
    expect(plan(["web1.foo.dev", "stranger", "db.foo.dev"]).unknownAgents).toEqual([
      "db.foo.dev",
      "stranger",
    ]);
  });
});

describe("targeting and missing hosts", () => {
  test.each<[string, string[], string[], Record<string, PlanStatus>]>([
    [
      "no target: every connected host runs, the others are missing unless ignore_missing",
      ["web1.foo.dev", "p-1.foo.dev"],
      [],
      {
        "web1.foo.dev": "run",
        "web2.foo.dev": "missing",
        "p-1.foo.dev": "run",
        "s1.stage.dev": "absent",
      },
    ],
    [
      "target glob: others connected are skipped",
      all,
      ["target=web*"],
      {
        "web1.foo.dev": "run",
        "web2.foo.dev": "run",
        "p-1.foo.dev": "skipped",
        "p-10.foo.dev": "skipped",
        "p-2.foo.dev": "skipped",
        "s1.stage.dev": "skipped",
        "s2.stage.dev": "skipped",
      },
    ],
    [
      "target glob: a host it covers that is not connected is missing",
      ["web1.foo.dev"],
      ["target=web*"],
      { "web1.foo.dev": "run", "web2.foo.dev": "missing", "s1.stage.dev": "skipped" },
    ],
    [
      "target glob class: web[2] covers web2 only",
      ["web1.foo.dev"],
      ["target=web[2].foo.dev"],
      { "web1.foo.dev": "skipped", "web2.foo.dev": "missing", "s1.stage.dev": "skipped" },
    ],
    [
      "target naming a host exactly that is not connected: missing",
      ["web1.foo.dev"],
      ["target=web2.foo.dev"],
      { "web1.foo.dev": "skipped", "web2.foo.dev": "missing", "s1.stage.dev": "skipped" },
    ],
    [
      "target naming exactly beats ignore_missing",
      [],
      ["target=s1.stage.dev"],
      { "web1.foo.dev": "skipped", "web2.foo.dev": "skipped", "s1.stage.dev": "missing" },
    ],
    [
      "target cluster: its hosts not connected are missing",
      ["p-1.foo.dev", "s2.stage.dev"],
      ["target=cluster:prod"],
      {
        "web1.foo.dev": "missing",
        "web2.foo.dev": "missing",
        "p-1.foo.dev": "run",
        "s1.stage.dev": "skipped",
        "s2.stage.dev": "skipped",
      },
    ],
    [
      "target cluster: ignore_missing hosts are absent",
      ["web1.foo.dev"],
      ["target=cluster:stage"],
      { "web1.foo.dev": "skipped", "web2.foo.dev": "skipped", "s1.stage.dev": "absent" },
    ],
  ])("%s", (_name, connected, argv, expected) => {
    expect(statuses(plan(connected, argv))).toEqual(expected);
  });

  test("connected is recorded", () => {
    const p = plan(["web1.foo.dev"]);
    expect(host(p, "web1.foo.dev").connected).toBe(true);
    expect(host(p, "web2.foo.dev").connected).toBe(false);
  });

  test("a target cluster that does not exist is a usage error", () => {
    expect(() => plan(all, ["target=cluster:prd"])).toThrow(UsageError);
    expect(() => plan(all, ["target=cluster:prd"])).toThrow(
      "target=cluster:prd: no cluster prd in the inventory (known: prod, stage)",
    );
  });

  test.each(["constructor", "__proto__", "toString", "valueOf", "hasOwnProperty"])(
    "target=cluster:%s is no cluster (own properties only)",
    (name) => {
      expect(() => plan(all, [`target=cluster:${name}`])).toThrow(
        `target=cluster:${name}: no cluster ${name} in the inventory (known: prod, stage)`,
      );
    },
  );

  test.each<[string[], string[], string]>([
    [
      ["web1.foo.dev"],
      ["target=nomatch*"],
      "no host matched target=nomatch* (globs matching no connected agent: p-*.foo.dev, p-1?.foo.dev, *.stage.dev)",
    ],
    [
      ["web1.foo.dev", "web9"],
      ["target=web9"],
      "no host matched target=web9 (connected but not in hosts/index.ts: web9; globs matching no connected agent: p-*.foo.dev, p-1?.foo.dev, *.stage.dev)",
    ],
    [all, ["target=db*"], "no host matched target=db*"],
  ])("a target that covers no host is a usage error: %p %p", (connected, argv, message) => {
    expect(() => plan(connected, argv)).toThrow(UsageError);
    expect(() => plan(connected, argv)).toThrow(message);
  });

  test("an inventory of globs only, with nothing connected: no host matched", () => {
    const globs = validateInventory({ hosts: { lab: { "*": { env: "lab", roles: ["x"] } } } });
    expect(() => scopeApply(globs, [], parseApplyArgs([]))).toThrow(
      "no host matched: hosts/index.ts names no host (globs matching no connected agent: *)",
    );
  });
});

describe("role filters", () => {
  const rolesOf = (argv: string[]) => host(plan(all, argv), "web1.foo.dev").roles;
  test.each<[string[], Array<[string, boolean]>]>([
    [
      [],
      [
        ["users", false],
        ["nginx", false],
        ["app", false],
      ],
    ],
    [
      ["roles=nginx"],
      [
        ["users", true],
        ["nginx", false],
        ["app", true],
      ],
    ],
    [
      ["roles=app,users"],
      [
        ["users", false],
        ["nginx", true],
        ["app", false],
      ],
    ],
    [
      ["skip=users"],
      [
        ["users", true],
        ["nginx", false],
        ["app", false],
      ],
    ],
    [
      ["skip=users,app"],
      [
        ["users", true],
        ["nginx", false],
        ["app", true],
      ],
    ],
    [
      ["roles=users,nginx", "skip=nginx"],
      [
        ["users", false],
        ["nginx", false],
        ["app", true],
      ],
    ],
    [
      ["roles=nothing"],
      [
        ["users", true],
        ["nginx", true],
        ["app", true],
      ],
    ],
  ])("%p", (argv, expected) => {
    expect(rolesOf(argv).map((r) => [r.name, r.skipped])).toEqual(expected);
  });

  test("a role the host lists under tags is marked a tag", () => {
    const tagged = validateInventory({
      hosts: { lab: { h1: { env: "lab", roles: ["base", "frontend"], tags: ["frontend"] } } },
    });
    expect(scopeApply(tagged, ["h1"], parseApplyArgs([])).hosts[0]!.roles).toEqual([
      { name: "base", skipped: false, tag: false },
      { name: "frontend", skipped: false, tag: true },
    ]);
  });
});
