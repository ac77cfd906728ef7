// The hosts all role contexts share travel once per agent connection and content.
import { describe, expect, test } from "bun:test";
import type { HostInfo } from "salty";
import { SharedHostsSent } from "../../lib/master/shared-hosts.ts";

/** What a role request carries for a connection (a SharedHostsSent each). */
const sharedHostsFor = (conn: SharedHostsSent, others: Parameters<SharedHostsSent["refFor"]>[0]) =>
  conn.refFor(others);
import { SharedHostsCache, SharedHostsStore } from "../../lib/agent/shared-hosts.ts";
import { createExecutor } from "../../lib/agent/runner.ts";
import { decode } from "../../lib/wire/codec.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";

const host = (roles: string[]): HostInfo => ({ env: "prod", cluster: "c", roles, vars: { x: 1 } });
const others = () => ({ a: host(["web"]), b: host(["db"]), c: host(["web", "db"]) });

function request(
  id: string,
  sharedHosts: RunRoleRequest["sharedHosts"],
  source = "",
): RunRoleRequest {
  const context = { id, me: host(["web"]), role: "web", hosts: {}, bootstrap: false, args: {} };
  return {
    role: "web",
    source,
    filename: "roles/web.ts",
    context,
    dryRun: false,
    diff: false,
    timeoutMs: 1000,
    ...(sharedHosts ? { sharedHosts } : {}),
  };
}

describe("sharedHostsFor (master)", () => {
  test("a connection gets the hosts once, then only their digest; new content or forgetting sends them again", () => {
    const conn = new SharedHostsSent();
    const first = others();
    const sent = sharedHostsFor(conn, first);
    expect(decode(sent.packed!)).toEqual(first);
    expect(sharedHostsFor(conn, first)).toEqual({ digest: sent.digest });
    expect(sharedHostsFor(conn, others())).toEqual({ digest: sent.digest }); // same content, another apply
    expect(sharedHostsFor(new SharedHostsSent(), first).packed).toBeDefined(); // another connection
    const changed = { ...others(), d: host([]) };
    const again = sharedHostsFor(conn, changed);
    expect(again.digest).not.toBe(sent.digest);
    expect(decode(again.packed!)).toEqual(changed);
    conn.forget();
    expect(sharedHostsFor(conn, changed).packed).toBeDefined();
  });
});

describe("shared hosts on the agent", () => {
  test("the connection hands the bytes on with every request; the executor fills hosts less the host itself", () => {
    const conn = new SharedHostsSent();
    const store = new SharedHostsStore();
    const cache = new SharedHostsCache();
    const first = store.attach(request("a", sharedHostsFor(conn, others())));
    const a = cache.expand(first);
    expect(a.context.hosts).toEqual({ b: host(["db"]), c: host(["web", "db"]) });
    expect(a.sharedHosts).toBeUndefined();
    const second = store.attach(request("b", sharedHostsFor(conn, others())));
    expect(second.sharedHosts!.packed).toBeDefined(); // a fresh worker could run it
    expect(Object.keys(new SharedHostsCache().expand(second).context.hosts)).toEqual(["a", "c"]);
  });

  test("the hosts are decoded once and read-only: a run cannot change what the next one sees", () => {
    const cache = new SharedHostsCache();
    const ref = new SharedHostsStore().attach(
      request("a", sharedHostsFor(new SharedHostsSent(), others())),
    );
    const one = cache.expand(ref).context.hosts;
    expect(() => {
      (one.b!.roles as string[]).push("evil");
    }).toThrow();
    expect(cache.expand(ref).context.hosts).toBe(one);
    expect(one.b!.roles).toEqual(["db"]);
  });

  test("a request without shared hosts is left as it is", () => {
    const req = request("a", undefined);
    expect(new SharedHostsStore().attach(req)).toBe(req);
    expect(new SharedHostsCache().expand(req)).toBe(req);
  });

  test("a digest never received on this connection is refused", () => {
    const sent = sharedHostsFor(new SharedHostsSent(), others());
    expect(() => new SharedHostsStore().attach(request("a", { digest: sent.digest }))).toThrow(
      /never received on this connection/,
    );
    expect(() => new SharedHostsCache().expand(request("a", { digest: sent.digest }))).toThrow(
      /without their content/,
    );
  });

  test("packed hosts that are not an object are refused; the executor reports it as a failed role", async () => {
    const packed = new Uint8Array([0x93, 1, 2, 3]); // msgpack [1, 2, 3]
    expect(() => new SharedHostsCache().expand(request("a", { digest: "x", packed }))).toThrow(
      /must be an object/,
    );
    const run = await createExecutor({ pathPrefix: "/nonexistent" })(
      request("a", { digest: "x", packed }),
      {} as never,
    );
    expect(run.rc).toBe(1);
    expect(run.results[0]!.error).toMatch(/role\(web\): shared hosts must be an object/);
  });
});
