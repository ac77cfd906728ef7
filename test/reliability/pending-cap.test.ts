// The cap on pending keys, at the key store: past limits.maxPendingKeys a new
// key is refused and not written; known ids and accepted keys are unaffected.
import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import { limits } from "../../lib/constants.ts";
import { encodeKey } from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { KeyStore } from "../../lib/master/keystore.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const temp = tempDirs("salty-pending-");

test("a full pending list refuses new keys without writing them; pending and accepted ids still get their answer", async () => {
  const root = temp();
  const pending = join(root, "agents/pending");
  mkdirSync(pending, { recursive: true });
  const keys = new Map<number, Uint8Array>();
  const key = (seed: number) => {
    if (!keys.has(seed))
      keys.set(seed, nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(seed)).publicKey);
    return keys.get(seed)!;
  };
  // Pending files need not hold distinct keys: ten are enough (a thousand signatures' worth of time is not).
  for (let i = 0; i < limits.maxPendingKeys; i++)
    writeFileSync(join(pending, `p${i}.pub`), encodeKey(key(i % 10)) + "\n");
  mkdirSync(join(root, "agents/accepted"), { recursive: true });
  writeFileSync(join(root, "agents/accepted/ok.pub"), encodeKey(key(251)) + "\n");
  const ks = new KeyStore(root);
  const fresh = await ks.decide({ id: "newcomer", kind: "agent", publicKey: key(252) });
  expect(fresh).toMatchObject({ accept: false, code: "E_KEY_PENDING_FULL" });
  expect(readdirSync(pending)).toHaveLength(limits.maxPendingKeys);
  expect(await ks.decide({ id: "p7", kind: "agent", publicKey: key(7 % 10) })).toMatchObject({
    accept: false,
    code: "E_KEY_PENDING",
  });
  expect(await ks.decide({ id: "ok", kind: "agent", publicKey: key(251) })).toEqual({
    accept: true,
    known: true,
  });
  // Another kind has its own list.
  expect(await ks.decide({ id: "laptop", kind: "client", publicKey: key(253) })).toMatchObject({
    code: "E_KEY_PENDING",
  });
});

test("strangers arriving at once cannot slip past the cap together", async () => {
  const root = temp();
  const pending = join(root, "agents/pending");
  mkdirSync(pending, { recursive: true });
  const one = encodeKey(nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(1)).publicKey) + "\n";
  for (let i = 0; i < limits.maxPendingKeys - 5; i++)
    writeFileSync(join(pending, `p${i}.pub`), one);
  const ks = new KeyStore(root);
  const strangers = Array.from({ length: 20 }, (_, i) =>
    ks.decide({
      id: `s${i}`,
      kind: "agent",
      publicKey: nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(i + 10)).publicKey,
    }),
  );
  const codes = (await Promise.all(strangers)).map((d) => (d.accept ? "accepted" : d.code));
  expect(codes.filter((c) => c === "E_KEY_PENDING")).toHaveLength(5);
  expect(codes.filter((c) => c === "E_KEY_PENDING_FULL")).toHaveLength(15);
  expect(readdirSync(pending)).toHaveLength(limits.maxPendingKeys);
});
