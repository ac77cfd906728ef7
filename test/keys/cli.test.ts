// `salty keys ...` as a user runs it, in-process (test/_cli.ts) on a temp
// keyroot; stdout, stderr and the exit status checked together. The terminal
// question runs the real process under script(1).

import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { join, resolve } from "node:path";
import { KeyStore } from "../../lib/master/keystore.ts";
import { fingerprint, loadOrCreateIdentity } from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";
import { MAIN, cli } from "../_cli.ts";

setLogSink(() => {});
const root = resolve(import.meta.dir, "../..");
const temp = tempDirs("salty-keycli-");

async function salty(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await cli(args, { cwd: root });
  return { code, out: stdout, err: stderr };
}

/** A keyroot with pending agents web2, web1 and a pending client ops. */
async function seeded() {
  const keyroot = temp();
  const ks = new KeyStore(keyroot);
  const keys: Record<string, Uint8Array> = {};
  for (const [id, kind] of [
    ["web2", "agent"],
    ["web1", "agent"],
    ["ops", "client"],
  ] as const) {
    keys[id] = nacl.sign.keyPair().publicKey;
    await ks.decide({ id, kind, publicKey: keys[id]! });
  }
  const fp = (id: string) => fingerprint(keys[id]!);
  return { keyroot, ks, fp };
}

describe("salty keys", () => {
  test("list shows a table of id, kind, status, address and time of first contact, and fingerprint", async () => {
    const { keyroot, ks, fp } = await seeded();
    const key = nacl.sign.keyPair().publicKey;
    await ks.decide(
      { id: "web3", kind: "agent", publicKey: key },
      { address: "192.0.2.7", unit: "192.0.2.7" },
    );
    const first = (await ks.list()).find((e) => e.id === "web3")!.firstContact!;
    const r = await salty("keys", "list", "--keyroot", keyroot);
    expect(r).toEqual({
      code: 0,
      err: "",
      out: [
        "ID    KIND    STATUS   FROM       FIRST CONTACT         FINGERPRINT",
        `web1  agent   pending  -          -                     ${fp("web1")}`,
        `web2  agent   pending  -          -                     ${fp("web2")}`,
        `web3  agent   pending  192.0.2.7  ${first}  ${fingerprint(key)}`,
        `ops   client  pending  -          -                     ${fp("ops")}`,
        "",
      ].join("\n"),
    });
  });

  test("accept ID moves the key; the store sees it; accepting again says so", async () => {
    const { keyroot, ks, fp } = await seeded();
    expect(await salty("keys", "accept", "web1", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `accepted agent web1 ${fp("web1")} (was pending)\n`,
    });
    expect((await ks.list()).find((e) => e.id === "web1")!.status).toBe("accepted");
    expect(await salty("keys", "accept", "web1", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `agent web1 was already accepted ${fp("web1")}\n`,
    });
  });

  test("accept --all --yes accepts every pending agent key, never a client key; then there are none", async () => {
    const { keyroot, fp } = await seeded();
    const r = await salty("keys", "accept", "--all", "--yes", "--keyroot", keyroot);
    expect(r).toEqual({
      code: 0,
      err: "",
      out: `accepted agent web1 ${fp("web1")}\naccepted agent web2 ${fp("web2")}\n`,
    });
    expect(await salty("keys", "accept", "--all", "--yes", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: "no pending agent keys\n",
    });
    expect((await salty("keys", "list", "--keyroot", keyroot)).out).toMatch(
      /^ops\s+client\s+pending\s/m,
    );
    expect(await salty("keys", "accept", "ops", "--kind", "client", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `accepted client ops ${fp("ops")} (was pending)\n`,
    });
  });

  test("accept --all without --yes and without a terminal: exit 2 with the count, nothing accepted", async () => {
    const { keyroot, ks } = await seeded();
    const r = await salty("keys", "accept", "--all", "--keyroot", keyroot);
    expect(r).toEqual({
      code: 2,
      out: "",
      err: "salty: salty keys accept --all: 2 pending agent keys; add --yes to accept them without a question (there is no terminal to ask on)\n",
    });
    expect((await ks.list()).every((e) => e.status === "pending")).toBe(true);
  });

  test("on a terminal, accept --all shows the count and asks; only yes accepts", async () => {
    const { keyroot, ks } = await seeded();
    const inTty = async (answer: string) => {
      // script(1) gives the command a pseudo-terminal; the answer is typed into it.
      const cmd = `${join(root, "node_modules/.bin/bun")} ${MAIN} keys accept --all --keyroot ${keyroot}`;
      const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], {
        stdin: new TextEncoder().encode(answer),
        stdout: "pipe",
        stderr: "pipe",
        cwd: root,
      });
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      return { out: out.replace(/\r/g, ""), code };
    };
    const no = await inTty("n\n");
    expect(no.out).toContain('accept 2 pending agent keys? ("salty keys list" shows them) [y/N]');
    expect(no.out).toContain("nothing accepted");
    expect(no.code).toBe(0);
    expect((await ks.list()).every((e) => e.status === "pending")).toBe(true);
    const yes = await inTty("y\n");
    expect(yes.out).toMatch(/accepted agent web1 .*\naccepted agent web2 /);
    expect((await ks.list()).map((e) => `${e.status}/${e.id}`)).toEqual([
      "accepted/web1",
      "accepted/web2",
      "pending/ops",
    ]);
  });

  test("delete --pending forgets every pending key in one go", async () => {
    const { keyroot, ks } = await seeded();
    await ks.accept("web1");
    expect(
      await salty("keys", "delete", "--pending", "--kind", "client", "--keyroot", keyroot),
    ).toEqual({ code: 0, err: "", out: "deleted 1 pending client key\n" });
    expect(await salty("keys", "delete", "--pending", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: "deleted 1 pending agent and client key\n",
    });
    expect((await ks.list()).map((e) => `${e.status}/${e.id}`)).toEqual(["accepted/web1"]);
  });

  test("reject and delete", async () => {
    const { keyroot, ks, fp } = await seeded();
    expect(await salty("keys", "reject", "web2", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `rejected agent web2 ${fp("web2")} (was pending)\n`,
    });
    expect(await salty("keys", "delete", "web2", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `deleted agent web2 ${fp("web2")} (was rejected)\n`,
    });
    expect((await ks.list()).map((e) => e.id)).toEqual(["web1", "ops"]);
  });

  test("fingerprint prints the master's", async () => {
    const { keyroot } = await seeded();
    const master = await loadOrCreateIdentity(keyroot, "master");
    expect(await salty("keys", "fingerprint", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `${fingerprint(master.publicKey)}\n`,
    });
  });

  test.each([
    [["accept"], 2, "salty: salty keys accept needs an ID or --all\n"],
    [["accept", "web1", "--all"], 2, "salty: salty keys accept takes an ID or --all, not both\n"],
    [
      ["accept", "web1", "--kind", "robot"],
      2,
      "salty: --kind must be agent or client, not robot\n",
    ],
    [
      ["accept", "--all", "--kind", "client"],
      2,
      "salty: --all accepts agent keys only; accept a client key by its id: salty keys accept ID --kind client\n",
    ],
    [["delete"], 2, "salty: salty keys delete needs an ID or --pending\n"],
    [
      ["accept", "web1", "--yes"],
      2,
      "salty: --yes goes with --all (accepting one key by its id asks nothing)\n",
    ],
    [
      ["delete", "web1", "--pending"],
      2,
      "salty: salty keys delete takes an ID or --pending, not both\n",
    ],
    [["accept", "nobody"], 1, "salty: no agent or client key with id nobody in KEYROOT\n"],
    [
      ["delete", "../../etc/passwd"],
      1,
      'salty: invalid id "../../etc/passwd": use 1 to 255 of A-Z a-z 0-9 . _ -, starting with a letter or digit\n',
    ],
    [["fingerprint"], 1, "salty: no master key in KEYROOT (KEYROOT/master.key does not exist)\n"],
  ])("keys %j: exit %d with one clear line", async (args, code, err) => {
    const { keyroot } = await seeded();
    const r = await salty("keys", ...args, "--keyroot", keyroot);
    expect(r).toEqual({ code, out: "", err: err.replaceAll("KEYROOT", keyroot) });
  });

  test("a keyroot that does not exist is an error, not an empty list", async () => {
    const r = await salty("keys", "list", "--keyroot", "/nonexistent/salty-keys");
    expect(r).toEqual({
      code: 1,
      out: "",
      err: "salty: keyroot /nonexistent/salty-keys does not exist (see --keyroot)\n",
    });
  });

  test("an empty keyroot lists no keys", async () => {
    const keyroot = temp();
    expect(await salty("keys", "list", "--keyroot", keyroot)).toEqual({
      code: 0,
      err: "",
      out: `no agent or client keys in ${keyroot}\n`,
    });
  });
});
