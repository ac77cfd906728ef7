// The hosts all role contexts share travel once per agent connection and content.
import { describe, expect, test } from "bun:test";
import type { HostInfo } from "salty";
import { forgetSharedHosts, sharedHostsFor } from "../../lib/master/shared-hosts.ts";
import { SharedHosts } from "../../lib/agent/shared-hosts.ts";
import { decode } from "../../lib/wire/codec.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";

const host = (roles: string[]): HostInfo => ({ env: "prod", cluster: "c", roles, vars: { x: 1 } });
const others = () => ({ a: host(["web"]), b: host(["db"]), c: host(["web", "db"]) });

function request(id: string, sharedHosts: RunRoleRequest["sharedHosts"]): RunRoleRequest {
  const context = { id, me: host(["web"]), role: "web", hosts: {}, bootstrap: false };
  return { role: "web", source: "", filename: "roles/web.ts", context, dryRun: false, diff: false, timeoutMs: 1000, ...(sharedHosts ? { sharedHosts } : {}) };
}

describe("sharedHostsFor (master)", () => {
  test("a connection gets the hosts once, then only their digest; new content or forgetting sends them again", () => {
    const conn = {};
    const first = others();
    const sent = sharedHostsFor(conn, first);
    expect(decode(sent.packed!)).toEqual(first);
    expect(sharedHostsFor(conn, first)).toEqual({ digest: sent.digest });
    expect(sharedHostsFor(conn, others())).toEqual({ digest: sent.digest }); // same content, another apply
    expect(sharedHostsFor({}, first).packed).toBeDefined(); // another connection
    const changed = { ...others(), d: host([]) };
    const again = sharedHostsFor(conn, changed);
    expect(again.digest).not.toBe(sent.digest);
    expect(decode(again.packed!)).toEqual(changed);
    forgetSharedHosts(conn);
    expect(sharedHostsFor(conn, changed).packed).toBeDefined();
  });
});

describe("SharedHosts (agent)", () => {
  test("fills each request's hosts from what the connection received, less the host itself", () => {
    const conn = {};
    const agent = new SharedHosts();
    const a = agent.expand(request("a", sharedHostsFor(conn, others())));
    expect(a.context.hosts).toEqual({ b: host(["db"]), c: host(["web", "db"]) });
    expect(a.sharedHosts).toBeUndefined();
    const b = agent.expand(request("b", sharedHostsFor(conn, others())));
    expect(Object.keys(b.context.hosts)).toEqual(["a", "c"]);
  });

  test("a request without shared hosts is left as it is", () => {
    const req = request("a", undefined);
    expect(new SharedHosts().expand(req)).toBe(req);
  });

  test("a digest never received on this connection is refused", () => {
    const sent = sharedHostsFor({}, others());
    expect(() => new SharedHosts().expand(request("a", { digest: sent.digest }))).toThrow(/never received on this connection/);
  });

  test("packed hosts that are not an object are refused", () => {
    const packed = new Uint8Array([0x93, 1, 2, 3]); // msgpack [1, 2, 3]
    expect(() => new SharedHosts().expand(request("a", { digest: "x", packed }))).toThrow(/must be an object/);
  });
});
