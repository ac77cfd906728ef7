import { describe, expect, test } from "bun:test";
import { matchTarget, parseTarget, valuesAt, type TargetHost } from "../../lib/inventory/target.ts";
import { parseApplyArgs } from "../../lib/inventory/args.ts";
import { scopeApply } from "../../lib/inventory/resolve.ts";
import { validateInventory } from "../../lib/inventory/validate.ts";
import { UsageError } from "../../lib/errors.ts";

/** The expression written back compactly, to compare shapes in one table. */
function show(text: string): string {
  const w = (e: ReturnType<typeof parseTarget>): string => {
    switch (e.kind) {
      case "host":
        return e.pattern;
      case "cluster":
      case "env":
      case "role":
        return `${e.kind}:${e.name}`;
      case "fact":
      case "var":
        return `${e.kind}:${e.path.join(".")}=${e.pattern}`;
      case "not":
        return `(not ${w(e.expr)})`;
      default:
        return `(${w(e.left)} ${e.kind} ${w(e.right)})`;
    }
  };
  return w(parseTarget(text));
}

describe("parse", () => {
  test.each([
    ["web1", "web1"],
    ["web*", "web*"],
    ["web[12]", "web[12]"],
    ["{a,b}.prod", "{a,b}.prod"],
    ["web1,web2", "(web1 or web2)"],
    ["web1,{a,b},db[1,2]", "((web1 or {a,b}) or db[1,2])"],
    ["cluster:prod", "cluster:prod"],
    ["env:stage", "env:stage"],
    ["role:nginx", "role:nginx"],
    ["fact:os.family=debian", "fact:os.family=debian"],
    ["fact:cpu_count=8", "fact:cpu_count=8"],
    ["var:tier=web*", "var:tier=web*"],
    ["fact:x=a=b", "fact:x=a=b"],
    ["role:nginx and env:prod and not web3", "((role:nginx and env:prod) and (not web3))"],
    ["a or b and c", "(a or (b and c))"],
    ["(a or b) and c", "((a or b) and c)"],
    ["not not a", "(not (not a))"],
    ["not (a or b)", "(not (a or b))"],
    ["(a)", "a"],
    ["  a   and\tb ", "(a and b)"],
    ["(a or b)and(c)", "((a or b) and c)"],
    ["cluster:prod,web9", "(cluster:prod or web9)"],
  ])("%p parses as %p", (text, shape) => {
    expect(show(text)).toBe(shape);
  });

  test.each([
    ["", /an empty target/],
    ["   ", /an empty target/],
    ["a and", /expected a host glob or NAME: after "and"/],
    ["and a", /"and" needs something on its left/],
    ["a or or b", /"or" needs something on its left/],
    ["not", /expected a host glob or NAME: after "not"/],
    ["a b", /expected and\/or before "b"/],
    ["(a or b", /a '\(' without its '\)'/],
    ["a or b)", /a '\)' without its '\('/],
    [")", /a '\)' without its '\('/],
    ["()", /after "\(", not '\)'/],
    ["a,,b", /an empty item in the list "a,,b"/],
    ["a,", /an empty item/],
    ["cluster:", /cluster: needs a name/],
    ["role:", /role: needs a name/],
    ["fact:os.family", /fact: needs PATH=GLOB \(e\.g\. fact:os\.family=debian\)/],
    ["var:x", /var: needs PATH=GLOB/],
    ["fact:=x", /the path must be names joined by dots/],
    ["fact:os..family=x", /the path must be names joined by dots/],
    ["fact:os.family=", /the value to match is empty/],
    [
      "grain:os=x",
      /unknown "grain:" \(a host id has no ':'; known: cluster: env: role: fact: var:\)/,
    ],
    ["web{1,2", /"web\{1,2": unbalanced \{ \}/],
    ["web[12", /unbalanced \[ \]/],
  ])("%p is a usage error: %p", (text, message) => {
    expect(() => parseTarget(text)).toThrow(UsageError);
    expect(() => parseTarget(text)).toThrow(message);
  });

  test("the error quotes the whole target", () => {
    expect(() => parseTarget("web1 and")).toThrow('target "web1 and": ');
  });
});

const debian: TargetHost = {
  id: "web1.prod",
  cluster: "prod",
  env: "prod",
  roles: ["users", "nginx"],
  vars: { tier: "web", weight: 3, manage: true, nested: { a: { b: "deep" } }, list: ["x", "y"] },
  facts: {
    os: { family: "debian", id: "ubuntu" },
    cpu_count: 8,
    networking: {
      interfaces: [
        { device: "lo", ipv4: "127.0.0.1" },
        { device: "eth0", ipv4: "10.0.0.5" },
      ],
    },
  },
};
const stranger: TargetHost = { id: "web9", facts: { os: { family: "rhel" }, cpu_count: 2 } };

describe("match", () => {
  test.each([
    ["web1.prod", debian, true],
    ["web*", debian, true],
    ["web[12].prod", debian, true],
    ["{web1,db1}.prod", debian, true],
    ["db*,web1.*", debian, true],
    ["db*", debian, false],
    ["cluster:prod", debian, true],
    ["cluster:stage", debian, false],
    ["env:prod", debian, true],
    ["role:nginx", debian, true],
    ["role:ngin", debian, false],
    ["fact:os.family=debian", debian, true],
    ["fact:os.family=deb*", debian, true],
    ["fact:os.family=rhel", debian, false],
    ["fact:cpu_count=8", debian, true],
    ["fact:cpu_count=[48]", debian, true],
    ["fact:cpu_count=16", debian, false],
    ["fact:networking.interfaces.ipv4=10.0.*", debian, true],
    ["fact:networking.interfaces.device=wlan*", debian, false],
    ["fact:os=debian", debian, false],
    ["fact:os.family.x=debian", debian, false],
    ["var:tier=web", debian, true],
    ["var:weight=3", debian, true],
    ["var:manage=true", debian, true],
    ["var:nested.a.b=deep", debian, true],
    ["var:list=y", debian, true],
    ["var:constructor=*", debian, false],
    ["fact:constructor.name=Object", debian, false],
    ["role:nginx and env:prod and not web3", debian, true],
    ["role:nginx and not web1.prod", debian, false],
    ["not (cluster:stage or env:stage)", debian, true],
    ["web9", stranger, true],
    ["cluster:prod", stranger, false],
    ["not cluster:prod", stranger, true],
    ["fact:os.family=rhel and fact:cpu_count=2", stranger, true],
    ["var:tier=*", stranger, false],
    ["role:nginx", stranger, false],
  ])("%p on %o: %p", (text, host, expected) => {
    expect(matchTarget(parseTarget(text), host)).toBe(expected);
  });

  test("valuesAt reads own properties only and goes through lists", () => {
    expect(valuesAt({ a: [{ b: 1 }, { b: "x" }, { c: 2 }] }, ["a", "b"])).toEqual([1, "x"]);
    expect(valuesAt({}, ["toString"])).toEqual([]);
    expect(valuesAt({ a: { b: {} } }, ["a", "b"])).toEqual([]);
  });
});

describe("in scopeApply (the apply, run, ping and targets plan)", () => {
  const inv = validateInventory({
    clusters: { prod: {}, stage: {} },
    envs: { prod: {}, stage: {} },
    hosts: {
      prod: {
        web1: { env: "prod", roles: ["nginx"], vars: { tier: "web" } },
        web2: { env: "prod", roles: ["nginx"] },
        db1: { env: "prod", roles: ["pg"] },
      },
      stage: { s1: { env: "stage", roles: ["nginx"], ignore_missing: true } },
    },
  });
  const facts: Record<string, unknown> = {
    web1: { os: { family: "debian" } },
    web2: { os: { family: "rhel" } },
    db1: { os: { family: "debian" } },
  };
  // As the master's registry: facts of connected agents only.
  const run = (target: string, connected = ["web1", "web2", "db1"]) =>
    Object.fromEntries(
      scopeApply(inv, connected, parseApplyArgs([`target=${target}`]), (id) =>
        connected.includes(id) ? (facts[id] as never) : undefined,
      ).hosts.map((h) => [h.id, h.status]),
    );

  test.each([
    ["role:nginx and env:prod", { web1: "run", web2: "run", db1: "skipped", s1: "skipped" }],
    ["role:nginx and not web2", { web1: "run", web2: "skipped", db1: "skipped", s1: "absent" }],
    ["fact:os.family=debian", { web1: "run", web2: "skipped", db1: "run", s1: "skipped" }],
    ["var:tier=web", { web1: "run", web2: "skipped", db1: "skipped", s1: "skipped" }],
    ["web1,db1", { web1: "run", web2: "skipped", db1: "run", s1: "skipped" }],
    ["env:stage or s1", { web1: "skipped", web2: "skipped", db1: "skipped", s1: "missing" }],
  ])("target=%p", (target, statuses) => {
    expect(run(target) as Record<string, string>).toEqual(statuses);
  });

  test.each([
    ["env:prd", "target=env:prd: no env prd in the inventory (known: prod, stage)"],
    [
      "role:ngnx and env:prod",
      "target=role:ngnx and env:prod: no host of the inventory has role ngnx (known: nginx, pg)",
    ],
    ["cluster:constructor", "target=cluster:constructor: no cluster constructor in the inventory"],
    ["fact:os.family=suse", "no host matched target=fact:os.family=suse"],
  ])("target=%p is a usage error", (target, message) => {
    expect(() => run(target)).toThrow(UsageError);
    expect(() => run(target)).toThrow(message);
  });

  test("fact: uses the facts it is given: a host not connected has none", () => {
    expect(() => run("fact:os.family=debian", [])).toThrow(
      "no host matched target=fact:os.family=debian",
    );
  });
});
