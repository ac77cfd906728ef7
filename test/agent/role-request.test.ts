// Role requests decoded where they are used (lib/agent/role-request.ts): the
// connection reads the head of the bytes, the role worker decodes the whole
// request from them, keeping large values by their exact bytes; what it
// gives is what the plain decoder gives, and no run sees another run's changes.
import { describe, expect, test } from "bun:test";
import { RequestDecoder, readHead } from "../../lib/agent/role-request.ts";
import { decode, encode } from "../../lib/wire/codec.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";
import { baseContext } from "../operators/_world.ts";

const facts = {
  kernel: "Linux",
  hostname: "web1",
  networking: { interfaces: [{ name: "eth0", addresses: ["10.0.0.5/24"] }] },
};

function request(extra: Partial<RunRoleRequest> = {}): RunRoleRequest {
  return {
    role: "web",
    source: "export default async () => {};",
    filename: "roles/web.ts",
    context: {
      ...baseContext,
      me: { ...baseContext.me, vars: { upstreams: ["a", "b", "c"], port: 8080 }, facts },
    } as unknown as RunRoleRequest["context"],
    known: { "files/web/a.conf": { hash: "ab".repeat(32), size: 120 } },
    dryRun: false,
    diff: false,
    timeoutMs: 60_000,
    apply: "apply-1",
    ...extra,
  };
}

/** What the master sends and Rpc hands the connection: the request's msgpack bytes. */
const bytesOf = (r: unknown) => encode(r);

describe("role requests as bytes", () => {
  test.each([
    ["a plain request", request()],
    [
      "every optional field",
      request({
        modules: { "roles/lib/util.ts": "export const x = 1;" },
        stream: true,
        last: true,
        secrets: ["s3cret"],
        sharedHosts: { digest: "d1", packed: encode({ db1: { env: "dev" } }) },
      }),
    ],
    ["a map of more than 15 keys", { ...request(), a1: 1, a2: 2, a3: 3, a4: 4, a5: 5, a6: 6 }],
  ])("%s: the head, then the whole request, as the plain decoder gives them", (_, req) => {
    const packed = readHead(bytesOf(req));
    const plain = decode(bytesOf(req)) as RunRoleRequest;
    expect({ ...packed, packed: undefined, fields: undefined }).toEqual({
      role: plain.role,
      filename: plain.filename,
      timeoutMs: plain.timeoutMs,
      apply: plain.apply,
      last: plain.last,
      stream: plain.stream,
      sharedHosts: plain.sharedHosts,
      packed: undefined,
    } as never);
    // Twice: decoded, then from what the decoder kept.
    const decoder = new RequestDecoder();
    expect(decoder.unpack(packed)).toEqual(plain);
    expect(decoder.unpack(readHead(bytesOf(req)))).toEqual(plain);
  });

  test("the connection's shared hosts take the place of the reference in the bytes", () => {
    const packed = readHead(bytesOf(request({ sharedHosts: { digest: "d1" } })));
    const attached = { ...packed, sharedHosts: { digest: "d1", packed: encode({ x: 1 }) } };
    expect(new RequestDecoder().unpack(attached).sharedHosts).toEqual(attached.sharedHosts);
  });

  test("a run that changes its context changes nothing the next run of the same bytes gets; the known hashes are frozen", () => {
    const decoder = new RequestDecoder();
    const bytes = bytesOf(request());
    const first = decoder.unpack(readHead(bytes));
    (first.context.me.vars.upstreams as string[]).push("evil");
    first.context.me.vars.port = 1;
    expect(Object.isFrozen(first.known!["files/web/a.conf"])).toBe(true);
    const second = decoder.unpack(readHead(bytes));
    expect(second).toEqual(decode(bytes) as RunRoleRequest);
    expect(second.context).not.toBe(first.context);
  });

  test("a value whose bytes changed, even at the same length, is decoded afresh", () => {
    const decoder = new RequestDecoder();
    decoder.unpack(readHead(bytesOf(request())));
    const changed = request();
    changed.context.me.vars.port = 8081; // same msgpack length as 8080
    expect(bytesOf(changed).length).toBe(bytesOf(request()).length);
    expect(decoder.unpack(readHead(bytesOf(changed))).context.me.vars.port).toBe(8081);
    expect(decoder.unpack(readHead(bytesOf(request()))).context.me.vars.port).toBe(8080);
  });

  test.each([
    ["not a map", encode(["web"]), /must be a map/],
    ["no role", encode({ filename: "roles/web.ts", timeoutMs: 1 }), /needs a role/],
    ["no timeout", encode({ role: "web", filename: "roles/web.ts" }), /needs a timeout/],
    ["a key that is not a string", Uint8Array.from([0x81, 0x01, 0x01]), /keys must be short/],
    [
      "a __proto__ key",
      Uint8Array.from([0x81, 0xa9, ...Buffer.from("__proto__"), 0x01]),
      /__proto__/,
    ],
    ["a truncated value", Uint8Array.from([0x81, 0xa1, 0x61, 0xa5, 0x61]), /truncated/],
  ])("%s is refused", (_, bytes, message) => {
    expect(() => readHead(bytes)).toThrow(message);
  });
});
