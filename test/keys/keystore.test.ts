import { describe, expect, test } from "bun:test";
import nacl from "tweetnacl";
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KeyStore } from "../../lib/master/keystore.ts";
import { encodeKey, fingerprint } from "../../lib/crypto/keys.ts";
import type { Peer } from "../../lib/wire/secure.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";

const logs: string[] = [];
setLogSink((l) => logs.push(l));

const keyroot = tempDirs("salty-keystore-");

const peer = (id: string, kind: Peer["kind"] = "agent"): Peer => ({
  id,
  kind,
  publicKey: nacl.sign.keyPair().publicKey,
});

describe("KeyStore.decide", () => {
  test("a new key is pending (file written, logged with its fingerprint) until accepted; then accepted", async () => {
    const root = keyroot();
    const ks = new KeyStore(root);
    const p = peer("web1");
    expect(await ks.decide(p)).toEqual({
      accept: false,
      code: "E_KEY_PENDING",
      reason: 'the key of agent web1 is pending; run "salty keys accept web1" on the master',
    });
    expect(readFileSync(join(root, "agents/pending/web1.pub"), "utf8")).toBe(
      encodeKey(p.publicKey) + "\n",
    );
    expect(
      logs.filter((l) => l.includes("keys.pending id=web1") && l.includes(fingerprint(p.publicKey)))
        .length,
    ).toBe(1);
    // Asking again changes nothing and logs no new pending line.
    expect((await ks.decide(p)).accept).toBe(false);
    expect(logs.filter((l) => l.includes("keys.pending id=web1")).length).toBe(1);
    // Another process (salty keys accept) moves the file; this instance sees it at the next decision.
    await new KeyStore(root).accept("web1");
    expect(await ks.decide(p)).toEqual({ accept: true, known: true }); // accepted before: not counted against its address's handshake rate;
  });

  test("an accepted id presenting another key is refused and logged with both fingerprints", async () => {
    const ks = new KeyStore(keyroot(), { autoAccept: true });
    const real = peer("db1");
    expect(await ks.decide(real)).toEqual({ accept: true });
    const impostor = peer("db1");
    const d = await ks.decide(impostor);
    expect(d).toEqual({
      accept: false,
      code: "E_KEY_MISMATCH",
      reason: `agent db1 is accepted with another key (${fingerprint(real.publicKey)}); if this host was reinstalled, run "salty keys delete db1" on the master and accept its new key`,
    });
    const line = logs.find((l) => l.includes("keys.mismatch id=db1"))!;
    expect(line).toContain(`presented=${fingerprint(impostor.publicKey)}`);
    expect(line).toContain(`accepted=${fingerprint(real.publicKey)}`);
    expect(await ks.decide(real)).toEqual({ accept: true, known: true }); // accepted before: not counted against its address's handshake rate;
  });

  test("a second key for a pending id does not replace the first", async () => {
    const root = keyroot();
    const ks = new KeyStore(root);
    const first = peer("web2");
    await ks.decide(first);
    const d = await ks.decide(peer("web2"));
    expect(d.accept === false && d.code).toBe("E_KEY_MISMATCH");
    expect(readFileSync(join(root, "agents/pending/web2.pub"), "utf8").trim()).toBe(
      encodeKey(first.publicKey),
    );
  });

  test("a rejected id is refused, whatever key it brings, until deleted", async () => {
    const ks = new KeyStore(keyroot());
    const p = peer("bad1");
    await ks.decide(p);
    await ks.reject("bad1");
    const d = await ks.decide(p);
    expect(d).toEqual({
      accept: false,
      code: "E_KEY_REJECTED",
      reason:
        'the key of agent bad1 is rejected; "salty keys delete bad1" on the master lets it ask again',
    });
    expect((await ks.decide(peer("bad1"))).accept).toBe(false);
    await ks.delete("bad1");
    expect((await ks.decide(p)) as unknown).toMatchObject({ code: "E_KEY_PENDING" });
  });

  test("autoAccept accepts new and pending keys, and logs it", async () => {
    const root = keyroot();
    const p = peer("lab1");
    await new KeyStore(root).decide(p);
    const ks = new KeyStore(root, { autoAccept: true });
    expect(await ks.decide(p)).toEqual({ accept: true });
    expect(await ks.decide(peer("lab2"))).toEqual({ accept: true });
    expect((await ks.list()).map((e) => `${e.id}:${e.status}`)).toEqual([
      "lab1:accepted",
      "lab2:accepted",
    ]);
    expect(logs.some((l) => l.includes("keys.auto_accepted id=lab1"))).toBe(true);
  });

  test("agents and clients live in separate namespaces", async () => {
    const root = keyroot();
    const ks = new KeyStore(root);
    await ks.decide(peer("ops", "client"));
    await ks.accept("ops", "client");
    expect(existsSync(join(root, "clients/accepted/ops.pub"))).toBe(true);
    const d = await new KeyStore(root).decide(peer("ops", "agent"));
    expect(d.accept === false && d.code).toBe("E_KEY_PENDING");
  });

  test("--auto-accept accepts agents, never clients: a client key can run applies as root", async () => {
    const root = keyroot();
    const ks = new KeyStore(root, { autoAccept: true });
    expect(await ks.decide(peer("web1", "agent"))).toEqual({ accept: true });
    const d = await ks.decide(peer("ops", "client"));
    expect(d.accept === false && d.code).toBe("E_KEY_PENDING");
    expect(d.accept === false && d.reason).toContain("salty keys accept ops --kind client");
    expect(existsSync(join(root, "clients/pending/ops.pub"))).toBe(true);
  });

  test("an unreadable key file makes decide throw (the handshake turns it into E_INTERNAL)", async () => {
    const root = keyroot();
    mkdirSync(join(root, "agents/accepted"), { recursive: true });
    writeFileSync(join(root, "agents/accepted/x1.pub"), "not a key");
    await expect(new KeyStore(root).decide(peer("x1"))).rejects.toThrow(
      "agents/accepted/x1.pub is not a base64 32-byte key",
    );
  });
});

describe("KeyStore management", () => {
  async function seeded() {
    const root = keyroot();
    const ks = new KeyStore(root);
    for (const id of ["b", "a", "c"]) await ks.decide(peer(id));
    await ks.decide(peer("ops", "client"));
    return { root, ks };
  }

  test("list: kind, status, id order, with fingerprints; stray files ignored", async () => {
    const { root, ks } = await seeded();
    await ks.accept("c");
    await ks.reject("b");
    writeFileSync(join(root, "agents/pending/.tmp-123"), "x");
    const list = await ks.list();
    expect(list.map((e) => `${e.kind}/${e.status}/${e.id}`)).toEqual([
      "agent/pending/a",
      "agent/accepted/c",
      "agent/rejected/b",
      "client/pending/ops",
    ]);
    expect(
      list.every((e) => e.fingerprint.startsWith("SHA256:") && e.fingerprint.length === 50),
    ).toBe(true);
  });

  test("acceptAll accepts the pending keys listed, and only while each is still the key listed", async () => {
    const { root, ks } = await seeded();
    const agents = await ks.pending("agent");
    expect(agents.map((e) => e.id)).toEqual(["a", "b", "c"]);
    // b was replaced after it was listed: not accepted
    rmSync(join(root, "agents/pending/b.pub"));
    await ks.decide({ id: "b", kind: "agent", publicKey: nacl.sign.keyPair().publicKey });
    expect((await ks.acceptAll(agents)).map((e) => e.id)).toEqual(["a", "c"]);
    expect(
      (await ks.list()).filter((e) => e.status === "pending").map((e) => `${e.kind}/${e.id}`),
    ).toEqual(["agent/b", "client/ops"]);
  });

  test("deletePending forgets every pending key, of one kind if asked", async () => {
    const { ks } = await seeded();
    await ks.accept("c");
    expect((await ks.deletePending("client")).map((e) => e.id)).toEqual(["ops"]);
    expect((await ks.deletePending()).map((e) => e.id)).toEqual(["a", "b"]);
    expect((await ks.list()).map((e) => `${e.status}/${e.id}`)).toEqual(["accepted/c"]);
  });

  test("a new key records where it came from; new keys are rate-limited per address unit", async () => {
    const { ks } = await seeded();
    const from = { address: "192.0.2.7", unit: "192.0.2.7" };
    const codes: string[] = [];
    for (let i = 0; i < 25; i++) {
      const d = await ks.decide(
        { id: `n${i}`, kind: "agent", publicKey: nacl.sign.keyPair().publicKey },
        from,
      );
      codes.push(d.accept ? "accepted" : d.code);
    }
    expect(codes.filter((c) => c === "E_KEY_PENDING").length).toBe(20);
    expect(codes.slice(20)).toEqual(Array(5).fill("E_KEY_PENDING_RATE"));
    const other = await ks.decide(
      { id: "elsewhere", kind: "agent", publicKey: nacl.sign.keyPair().publicKey },
      { address: "192.0.2.8", unit: "192.0.2.8" },
    );
    expect(other.accept ? "" : other.code).toBe("E_KEY_PENDING");
    const n0 = (await ks.list()).find((e) => e.id === "n0")!;
    expect(n0.address).toBe("192.0.2.7");
    expect(n0.firstContact).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.now() - Date.parse(n0.firstContact!)).toBeLessThan(60_000);
    await ks.accept("n0");
    expect((await ks.list()).find((e) => e.id === "n0")).toMatchObject({
      status: "accepted",
      address: "192.0.2.7",
    });
    expect(await ks.stillAccepted({ id: "n0", kind: "agent", publicKey: n0.publicKey! })).toBe(
      true,
    );
  });

  test("accept, reject, delete report what was there; unknown ids and bad ids are errors", async () => {
    const { root, ks } = await seeded();
    expect((await ks.accept("a")).was).toBe("pending");
    expect((await ks.accept("a")).was).toBe("accepted");
    expect((await ks.reject("a")).was).toBe("accepted");
    expect((await ks.accept("a")).was).toBe("rejected");
    expect(readdirSync(join(root, "agents/rejected"))).toEqual([]);
    expect((await ks.delete("a")).status).toBe("accepted");
    const unknown = await ks.accept("zzz").catch((e) => e);
    expect([unknown.code, unknown.message]).toEqual([
      "E_KEY_UNKNOWN",
      `no agent or client key with id zzz in ${root}`,
    ]);
    const bad = await ks.delete("../../etc/passwd").catch((e) => e);
    expect(bad.code).toBe("E_BAD_ID");
  });

  test("an id used by an agent and a client needs a kind", async () => {
    const { ks } = await seeded();
    await ks.decide(peer("ops", "agent"));
    const err = await ks.accept("ops").catch((e) => e);
    expect(err.code).toBe("E_USAGE");
    expect(err.message).toBe(
      "ops is both an agent and a client key: add --kind agent or --kind client",
    );
    expect((await ks.accept("ops", "client")).kind).toBe("client");
  });
});
