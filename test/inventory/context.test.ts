import { describe, expect, test } from "bun:test";
import type { Facts, Vars } from "salty";
import { parseApplyArgs } from "../../lib/inventory/args.ts";
import {
  buildContext,
  contextFactory,
  holdsSecret,
  maskSecrets,
  publicHosts,
  publicVars,
  type DecryptVars,
} from "../../lib/inventory/context.ts";
import { scopeApply } from "../../lib/inventory/resolve.ts";
import { validateInventory } from "../../lib/inventory/validate.ts";
import { SaltyError } from "../../lib/errors.ts";

// A fake of secrets.decryptTree: a fixed table; an unknown ciphertext throws, so
// a fixture cannot silently leave a secret undecrypted.
const plain: Record<string, string> = {
  "NACL[env-db]": "env-db-plaintext",
  "NACL[web1-api]": "web1-api-plaintext",
  "NACL[web2-api]": "web2-api-plaintext",
  "NACL[web2-nested]": "web2-nested-plaintext",
  "NACL[cluster-token]": "cluster-token-plaintext",
  "NACL[stage-db]": "stage-db-plaintext",
};
const isSecret = (s: string) => /^NACL\[.*\]$/.test(s);
const decrypt: DecryptVars = (vars) => {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string" && isSecret(v)) {
      const p = plain[v];
      if (p === undefined) throw new SaltyError(`wrong password or corrupted data`, "E_DECRYPT");
      return p;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(vars) as Vars;
};

const inv = validateInventory({
  clusters: { prod: { domain: "foo.dev", token: "NACL[cluster-token]" }, stage: {} },
  envs: {
    prod: { db_password: "NACL[env-db]", level: "info" },
    stage: { db_password: "NACL[stage-db]" },
  },
  hosts: {
    prod: {
      web1: {
        env: "prod",
        roles: ["nginx", "app"],
        vars: { api_key: "NACL[web1-api]", weight: 3 },
      },
      web2: {
        env: "prod",
        roles: ["nginx"],
        vars: {
          api_key: "NACL[web2-api]",
          creds: { user: "u", pass: ["x", "NACL[web2-nested]"] },
          plain_list: ["a", "b"],
        },
      },
    },
    stage: { s1: { env: "stage", roles: ["app"] } },
  },
});

function facts(ip: string): Facts {
  return {
    kernel: "Linux",
    machine: "x86_64",
    os: { name: "Debian GNU/Linux", version: "12" },
    cpu_count: 2,
    mem_gb: 4,
    hostname: "h",
    networking: {
      interfaces: [
        {
          device: "eth0",
          mac: "02:00:00:00:00:01",
          ipv4: ip,
          ipv4_network: `${ip}/32`,
          is_private: true,
          is_public: false,
          is_loopback: false,
          is_bridge: false,
        },
      ],
    },
  };
}
const factsById = { web1: facts("10.0.0.1"), web2: facts("10.0.0.2") };
const args = parseApplyArgs(["version=abc123", "n=2"]);
const plan = scopeApply(inv, ["web1", "web2"], args);
const contextOf = contextFactory(plan, {
  facts: factsById,
  extra: args.extra,
  bootstrap: false,
  decrypt,
  isSecret,
});

describe("context", () => {
  test("holds id, me (own secrets decrypted), role, hosts, bootstrap and the apply arguments", () => {
    // The arguments are also keys of the context itself (roles written before `args` keep working).
    const ctx = { ...contextOf("web1", "nginx") } as Record<string, unknown>;
    expect(ctx).toEqual({
      version: "abc123",
      n: 2,
      id: "web1",
      me: {
        env: "prod",
        cluster: "prod",
        roles: ["nginx", "app"],
        facts: factsById.web1,
        vars: {
          db_password: "env-db-plaintext",
          level: "info",
          domain: "foo.dev",
          token: "cluster-token-plaintext",
          api_key: "web1-api-plaintext",
          weight: 3,
        },
      },
      role: "nginx",
      hosts: {
        web2: {
          env: "prod",
          cluster: "prod",
          roles: ["nginx"],
          facts: factsById.web2,
          vars: { level: "info", domain: "foo.dev", plain_list: ["a", "b"] },
        },
        s1: { env: "stage", cluster: "stage", roles: ["app"], vars: {} },
      },
      bootstrap: false,
      args: { version: "abc123", n: 2 },
    });
  });

  test("asked without hosts (they travel as shared hosts): the same context, hosts empty, keys in the same order", () => {
    // The scheduler's input digest is over this JSON: it must not change with how the context was made.
    const lean = contextOf("web1", "nginx", { hosts: false });
    expect(lean.hosts).toEqual({});
    expect(JSON.stringify(lean)).toBe(JSON.stringify({ ...contextOf("web1", "nginx"), hosts: {} }));
    const fresh = contextFactory(plan, {
      facts: factsById,
      extra: args.extra,
      bootstrap: false,
      decrypt,
      isSecret,
    });
    expect(fresh("web2", "app", { hosts: false }).hosts).toEqual({});
    expect(JSON.stringify(fresh("web2", "app"))).toBe(JSON.stringify(contextOf("web2", "app")));
  });

  test.each([
    ["web1", ["env-db", "cluster-token", "web1-api"], ["web2-api", "web2-nested", "stage-db"]],
    ["web2", ["env-db", "cluster-token", "web2-api", "web2-nested"], ["web1-api", "stage-db"]],
  ])("%s's context has its own secrets decrypted and none of another host's", (id, own, others) => {
    const text = JSON.stringify(contextOf(id, "nginx"));
    expect(text).not.toContain("NACL["); // own secrets decrypted, others' removed: no ciphertext either
    for (const name of own) expect(text).toContain(`${name}-plaintext`);
    for (const name of others) expect(text).not.toContain(`${name}-plaintext`);
  });

  test("a var holding a secret deep inside is removed whole from other hosts", () => {
    const ctx = contextOf("web1", "app");
    expect(ctx.hosts.web2!.vars).not.toHaveProperty("creds");
    expect(contextOf("web2", "nginx").me.vars.creds).toEqual({
      user: "u",
      pass: ["x", "web2-nested-plaintext"],
    });
  });

  test("the contexts of a host's roles differ only in role", () => {
    const a = contextOf("web1", "nginx");
    const b = contextOf("web1", "app");
    expect([a.role, b.role]).toEqual(["nginx", "app"]);
    expect({ ...b, role: "nginx" }).toEqual(a);
  });

  test("apply arguments cannot override the fixed names", () => {
    const host = plan.hosts.find((h) => h.id === "web1")!;
    const ctx = buildContext({
      host,
      role: "nginx",
      others: {},
      extra: { id: "evil", role: "evil", bootstrap: true, version: "v1" },
      bootstrap: false,
      decrypt,
    });
    expect([ctx.id, ctx.role, ctx.bootstrap, ctx.args.version]).toEqual([
      "web1",
      "nginx",
      false,
      "v1",
    ]);
    expect(ctx.args).toEqual({ id: "evil", role: "evil", bootstrap: true, version: "v1" });
  });

  test("a secret that cannot be decrypted names the host", () => {
    const bad = scopeApply(
      validateInventory({
        hosts: { c: { h1: { env: "e", roles: ["r"], vars: { k: "NACL[unknown]" } } } },
      }),
      ["h1"],
      parseApplyArgs([]),
    );
    const make = contextFactory(bad, { facts: {}, extra: {}, bootstrap: true, decrypt, isSecret });
    expect(() => make("h1", "r")).toThrow("vars of h1: wrong password or corrupted data");
    expect(() => make("nope", "r")).toThrow("no host nope in this apply's plan");
  });

  test("publicHosts is computed from raw vars, never decrypts", () => {
    const view = publicHosts(plan, factsById, isSecret);
    expect(Object.keys(view)).toEqual(["web1", "web2", "s1"]);
    expect(JSON.stringify(view)).not.toContain("NACL[");
    expect(JSON.stringify(view)).not.toContain("plaintext");
  });
});

describe("secret helpers", () => {
  test.each([
    ["NACL[abc]", true],
    ["nacl[abc]", false],
    ["x NACL[abc]", false],
    [["a", { b: ["NACL[x]"] }], true],
    [{ a: 1, b: [null, "c"] }, false],
    [42, false],
  ])("holdsSecret(%p) = %p", (value, expected) => {
    expect(holdsSecret(value, isSecret)).toBe(expected);
  });

  test("publicVars drops whole vars", () => {
    expect(
      publicVars({ a: 1, s: "NACL[x]", deep: { l: ["NACL[y]"] }, ok: { l: ["y"] } }, isSecret),
    ).toEqual({ a: 1, ok: { l: ["y"] } });
  });

  test("maskSecrets replaces every secret string and keeps the rest", () => {
    const raw = { envs: { prod: { db: "NACL[env-db]", n: 1 } }, list: ["NACL[a]", "b"], nil: null };
    expect(maskSecrets(raw, isSecret)).toEqual({
      envs: { prod: { db: "NACL[***]", n: 1 } },
      list: ["NACL[***]", "b"],
      nil: null,
    });
    expect(raw.envs.prod.db).toBe("NACL[env-db]");
  });
});
