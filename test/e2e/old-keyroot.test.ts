// Keyroots made by the tweetnacl build (keys as tweetnacl's sign.keyPair wrote
// them, the agent's pin of the master) keep working with the node:crypto
// handshake of the real binary, and what the binary makes reads back with
// tweetnacl. The handshake itself runs against the tweetnacl build in both
// directions in test/crypto/native.test.ts.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import { world, type World } from "./_harness.ts";

const files = {
  "hosts/index.ts": `export default { hosts: { lab: { old1: { env: "x", roles: ["motd"] }, new1: { env: "x", roles: ["motd"] } } }, envs: { x: {} } };\n`,
  "roles/motd.ts": `export default async ({ copy }) => { await copy("motd", "/etc/motd"); };\n`,
  "files/motd": "hello\n",
};
const b64 = (k: Uint8Array) => Buffer.from(k).toString("base64") + "\n";
let w: World | undefined;

afterEach(async () => {
  await w?.[Symbol.asyncDispose]();
  w = undefined;
});

test("a master and an agent keyroot written by tweetnacl connect, apply and keep their files; new keys read back with tweetnacl", async () => {
  w = await world({ files });
  const master = nacl.sign.keyPair();
  writeFileSync(join(w.keyroot, "master.key"), b64(master.secretKey), { mode: 0o600 });
  writeFileSync(join(w.keyroot, "master.pub"), b64(master.publicKey));
  const agent = nacl.sign.keyPair();
  const agentKeys = join(w.dir, "agent-keys", "old1");
  mkdirSync(agentKeys, { recursive: true, mode: 0o700 });
  writeFileSync(join(agentKeys, "agent.key"), b64(agent.secretKey), { mode: 0o600 });
  writeFileSync(join(agentKeys, "agent.pub"), b64(agent.publicKey));
  writeFileSync(join(agentKeys, "master.pub"), b64(master.publicKey)); // the pin an earlier contact left
  const before = ["master.key", "master.pub"].map((f) => readFileSync(join(w!.keyroot, f), "utf8"));

  await w.startMaster(["--auto-accept"]);
  await w.startAgent("old1");
  await w.startAgent("new1"); // a keyroot the new build makes, pinning the tweetnacl-made master key
  await w.waitHosts(["old1", "new1"]);
  const r = await w.salty(["apply", "--keyroot", w.keyroot, "target=*"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  for (const id of ["old1", "new1"])
    expect(readFileSync(join(w.sandbox(id), "etc/motd"), "utf8")).toBe("hello\n");

  const fingerprint = await w.salty(["keys", "fingerprint", "--keyroot", w.keyroot]);
  expect(fingerprint.stdout).toContain(
    "SHA256:" +
      new Bun.CryptoHasher("sha256").update(master.publicKey).digest("base64").replace(/=+$/, ""),
  );
  expect(
    ["master.key", "master.pub"].map((f) => readFileSync(join(w!.keyroot, f), "utf8")),
  ).toEqual(before);
  expect(readFileSync(join(agentKeys, "agent.key"), "utf8")).toBe(b64(agent.secretKey));
  // The keyroot the new build made: tweetnacl derives the same public key from its seed, and its pin is the master's key.
  const made = join(w.dir, "agent-keys", "new1");
  const secret = new Uint8Array(
    Buffer.from(readFileSync(join(made, "agent.key"), "utf8"), "base64"),
  );
  expect(b64(nacl.sign.keyPair.fromSeed(secret.subarray(0, 32)).publicKey)).toBe(
    readFileSync(join(made, "agent.pub"), "utf8"),
  );
  expect(b64(nacl.sign.keyPair.fromSeed(secret.subarray(0, 32)).secretKey)).toBe(b64(secret));
  expect(readFileSync(join(made, "master.pub"), "utf8")).toBe(b64(master.publicKey));
}, 120_000);
