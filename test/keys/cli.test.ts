// `salty keys ...` as a user runs it: a real process on a temp keyroot;
// stdout, stderr and the exit status checked together.

import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { join, resolve } from "node:path";
import { KeyStore } from "../../lib/master/keystore.ts";
import { fingerprint, loadOrCreateIdentity } from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const root = resolve(import.meta.dir, "../..");
const temp = tempDirs("salty-keycli-");

async function salty(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([join(root, "node_modules/.bin/bun"), join(root, "cmd/main.ts"), ...args], { stdout: "pipe", stderr: "pipe", cwd: root });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

/** A keyroot with pending agents web2, web1 and a pending client ops. */
async function seeded() {
  const keyroot = temp();
  const ks = new KeyStore(keyroot);
  const keys: Record<string, Uint8Array> = {};
  for (const [id, kind] of [["web2", "agent"], ["web1", "agent"], ["ops", "client"]] as const) {
    keys[id] = nacl.sign.keyPair().publicKey;
    await ks.decide({ id, kind, publicKey: keys[id]! });
  }
  const fp = (id: string) => fingerprint(keys[id]!);
  return { keyroot, ks, fp };
}

describe("salty keys", () => {
  test("list shows a table of id, kind, status and fingerprint", async () => {
    const { keyroot, fp } = await seeded();
    const r = await salty("keys", "list", "--keyroot", keyroot);
    expect(r).toEqual({
      code: 0,
      err: "",
      out: [
        "ID    KIND    STATUS   FINGERPRINT",
        `web1  agent   pending  ${fp("web1")}`,
        `web2  agent   pending  ${fp("web2")}`,
        `ops   client  pending  ${fp("ops")}`,
        "",
      ].join("\n"),
    });
  });

  test("accept ID moves the key; the store sees it; accepting again says so", async () => {
    const { keyroot, ks, fp } = await seeded();
    expect(await salty("keys", "accept", "web1", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `accepted agent web1 ${fp("web1")} (was pending)\n` });
    expect((await ks.list()).find((e) => e.id === "web1")!.status).toBe("accepted");
    expect(await salty("keys", "accept", "web1", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `agent web1 was already accepted ${fp("web1")}\n` });
  });

  test("accept --all accepts every pending key, then there are none", async () => {
    const { keyroot, fp } = await seeded();
    const r = await salty("keys", "accept", "--all", "--keyroot", keyroot);
    expect(r).toEqual({ code: 0, err: "", out: `accepted agent web1 ${fp("web1")}\naccepted agent web2 ${fp("web2")}\naccepted client ops ${fp("ops")}\n` });
    expect(await salty("keys", "accept", "--all", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: "no pending keys\n" });
  });

  test("reject and delete", async () => {
    const { keyroot, ks, fp } = await seeded();
    expect(await salty("keys", "reject", "web2", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `rejected agent web2 ${fp("web2")} (was pending)\n` });
    expect(await salty("keys", "delete", "web2", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `deleted agent web2 ${fp("web2")} (was rejected)\n` });
    expect((await ks.list()).map((e) => e.id)).toEqual(["web1", "ops"]);
  });

  test("fingerprint prints the master's", async () => {
    const { keyroot } = await seeded();
    const master = await loadOrCreateIdentity(keyroot, "master");
    expect(await salty("keys", "fingerprint", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `${fingerprint(master.publicKey)}\n` });
  });

  test.each([
    [["accept"], 2, "salty: salty keys accept needs an ID or --all\n"],
    [["accept", "web1", "--all"], 2, "salty: salty keys accept takes an ID or --all, not both\n"],
    [["accept", "web1", "--kind", "robot"], 2, "salty: --kind must be agent or client, not robot\n"],
    [["accept", "nobody"], 1, "salty: no agent or client key with id nobody in KEYROOT\n"],
    [["delete", "../../etc/passwd"], 1, 'salty: invalid id "../../etc/passwd": use 1 to 255 of A-Z a-z 0-9 . _ -, starting with a letter or digit\n'],
    [["fingerprint"], 1, "salty: no master key in KEYROOT (KEYROOT/master.key does not exist)\n"],
  ])("keys %j: exit %d with one clear line", async (args, code, err) => {
    const { keyroot } = await seeded();
    const r = await salty("keys", ...args, "--keyroot", keyroot);
    expect(r).toEqual({ code, out: "", err: err.replaceAll("KEYROOT", keyroot) });
  });

  test("a keyroot that does not exist is an error, not an empty list", async () => {
    const r = await salty("keys", "list", "--keyroot", "/nonexistent/salty-keys");
    expect(r).toEqual({ code: 1, out: "", err: "salty: keyroot /nonexistent/salty-keys does not exist (see --keyroot)\n" });
  });

  test("an empty keyroot lists no keys", async () => {
    const keyroot = temp();
    expect(await salty("keys", "list", "--keyroot", keyroot)).toEqual({ code: 0, err: "", out: `no agent or client keys in ${keyroot}\n` });
  });
});
