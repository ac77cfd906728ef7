// The master's record of agent and client keys, one small file per key:
//   KEYROOT/agents/{pending,accepted,rejected}/ID.pub   (and KEYROOT/clients/...)
// Keys are created exclusively and moved by rename, so `salty keys` (another
// process) and a running master share the files safely; decide() reads them on
// every connection, so an accept counts at the agent's next attempt (a running
// master keeps what it read while each file's stat is unchanged: key-cache.ts).
// A key file's first line is the key; a second one, `# first contact from
// ADDRESS at TIME`, records where a new key came from (`salty keys list`).
// Strangers can make keys: new pending keys are capped in all and rate-limited
// per source address. Logs ids and fingerprints, never key material.
// Several masters (`--db postgres://…`) keep the same records in PostgreSQL
// instead (keystore-pg.ts): the decisions below are the same over either.

import { mkdir, readFile, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { limits, timing } from "../constants.ts";
import { SaltyError, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import {
  encodeKey,
  fingerprint,
  parsePublicKey,
  samePublicKey,
  validateId,
} from "../crypto/keys.ts";
import { writeNew } from "../crypto/_files.ts";
import type { Decision, Peer } from "../wire/secure.ts";
import type { Origin } from "../wire/secure-listener.ts";
import { RateLimiter } from "../wire/rate.ts";

export type KeyKind = Peer["kind"];
export type KeyStatus = "pending" | "accepted" | "rejected";

export interface KeyEntry {
  id: string;
  kind: KeyKind;
  status: KeyStatus;
  /** Undefined when the file does not hold a valid key. */
  publicKey?: Uint8Array;
  fingerprint: string;
  /** Where and when the master first saw this key (absent for keys it did not record, e.g. placed by hand). */
  address?: string;
  firstContact?: string;
}

const KINDS: KeyKind[] = ["agent", "client"];
const STATUSES: KeyStatus[] = ["pending", "accepted", "rejected"];
const kindDir = (kind: KeyKind) => (kind === "agent" ? "agents" : "clients");

/** Where keys are kept: one file per key under the keyroot (FileKeyRecords), or a database table (keystore-pg.ts). */
export interface KeyRecords {
  /** What messages name: the keyroot, or the database. */
  readonly where: string;
  read(kind: KeyKind, status: KeyStatus, id: string): Promise<Uint8Array | undefined>;
  /** A new record; false when one for this kind, status and id exists already. */
  create(
    kind: KeyKind,
    status: KeyStatus,
    id: string,
    key: Uint8Array,
    from?: Origin,
  ): Promise<boolean>;
  move(kind: KeyKind, id: string, from: KeyStatus, to: KeyStatus): Promise<void>;
  remove(kind: KeyKind, status: KeyStatus, id: string): Promise<void>;
  countPending(kind: KeyKind): Promise<number>;
  /** Every record, sorted by kind, status (pending first) and id. */
  entries(): Promise<KeyEntry[]>;
}

const refuse = (code: string, reason: string): Decision => ({ accept: false, code, reason });

const CONTACT_RE = /^# first contact from (\S+) at (\S+)$/m;

export class KeyStore {
  private pendingQueue: Promise<void> = Promise.resolve();
  private newKeys = new RateLimiter(limits.pendingKeysBurst, () => timing.pendingKeyRefillMs);
  private readonly records: KeyRecords;

  /** `records`: where the keys are kept (default: files under the keyroot). */
  constructor(
    readonly keyroot: string,
    private readonly opts: { autoAccept?: boolean } = {},
    records?: KeyRecords,
  ) {
    this.records = records ?? new FileKeyRecords(keyroot);
  }

  /** Where the keys are: the keyroot, or the shared database. */
  get where(): string {
    return this.records.where;
  }

  /** The master's answer to an authenticated peer. */
  async decide(peer: Peer, from?: Origin): Promise<Decision> {
    const { id, kind, publicKey } = peer;
    const fp = fingerprint(publicKey);
    if (await this.read(kind, "rejected", id)) {
      return refuse(
        "E_KEY_REJECTED",
        `the key of ${kind} ${id} is rejected; "salty keys delete ${id}" on the master lets it ask again`,
      );
    }
    const accepted = await this.read(kind, "accepted", id);
    if (accepted) {
      if (samePublicKey(accepted, publicKey)) return { accept: true, known: true };
      log("keys.mismatch", { id, kind, presented: fp, accepted: fingerprint(accepted) });
      return refuse(
        "E_KEY_MISMATCH",
        `${kind} ${id} is accepted with another key (${fingerprint(accepted)}); if this host was reinstalled, run "salty keys delete ${id}" on the master and accept its new key`,
      );
    }
    const pending = await this.read(kind, "pending", id);
    if (pending && !samePublicKey(pending, publicKey)) {
      log("keys.pending_mismatch", { id, kind, presented: fp, pending: fingerprint(pending) });
      return refuse(
        "E_KEY_MISMATCH",
        `another key (${fingerprint(pending)}) is already pending for ${kind} ${id}; "salty keys delete ${id}" on the master clears it`,
      );
    }
    // Agents only: a client key can run applies as root on every host, so a person always accepts it.
    if (this.opts.autoAccept && kind === "agent")
      return this.autoAccept(peer, Boolean(pending), from);
    if (!pending) {
      // Spent before the cap is checked: a stranger at its rate learns nothing of the queue.
      if (from && !this.newKeys.take(from.unit)) {
        return refuse(
          "E_KEY_PENDING_RATE",
          `too many new keys from ${from.address} lately; this one is not recorded, try again later`,
        );
      }
      if (!(await this.addPending(peer, from))) {
        return refuse(
          "E_KEY_PENDING_FULL",
          `${limits.maxPendingKeys} ${kind} keys are pending already; accept or delete some with "salty keys" on the master`,
        );
      }
    }
    const accept =
      kind === "agent" ? `salty keys accept ${id}` : `salty keys accept ${id} --kind client`;
    return refuse(
      "E_KEY_PENDING",
      `the key of ${kind} ${id} is pending; run "${accept}" on the master`,
    );
  }

  /** Whether a peer's session may go on: its key is accepted, the same key, and not rejected. */
  async stillAccepted(peer: Peer): Promise<boolean> {
    if (await this.read(peer.kind, "rejected", peer.id)) return false;
    const accepted = await this.read(peer.kind, "accepted", peer.id);
    return accepted !== undefined && samePublicKey(accepted, peer.publicKey);
  }

  private async autoAccept(peer: Peer, fromPending: boolean, from?: Origin): Promise<Decision> {
    const { id, kind, publicKey } = peer;
    if (fromPending) await this.move(kind, id, "pending", "accepted");
    else if (!(await this.create(kind, "accepted", id, publicKey, from)))
      return this.decide(peer, from); // lost a race: look again
    log("keys.auto_accepted", { id, kind, fingerprint: fingerprint(publicKey) });
    return { accept: true };
  }

  /** Every key, sorted by kind, status (pending first) and id. */
  list(): Promise<KeyEntry[]> {
    return this.records.entries();
  }

  /** Accept a pending (or rejected) key. */
  async accept(id: string, kind?: KeyKind): Promise<KeyEntry & { was: KeyStatus }> {
    const e = await this.only(id, kind);
    if (e.status !== "accepted") await this.move(e.kind, id, e.status, "accepted");
    return { ...e, status: "accepted", was: e.status };
  }

  /** The pending keys of one kind. */
  async pending(kind: KeyKind): Promise<KeyEntry[]> {
    return (await this.list()).filter((e) => e.status === "pending" && e.kind === kind);
  }

  /**
   * Accept these pending keys (as listed to the operator); returns what was accepted. A key
   * replaced or gone since it was listed is left alone: only what the operator saw is accepted.
   */
  async acceptAll(listed: KeyEntry[]): Promise<KeyEntry[]> {
    const done: KeyEntry[] = [];
    for (const e of listed) {
      const now = await this.read(e.kind, "pending", e.id).catch(() => undefined);
      if (!now || !e.publicKey || !samePublicKey(now, e.publicKey)) continue;
      await this.move(e.kind, e.id, "pending", "accepted");
      done.push({ ...e, status: "accepted" });
    }
    return done;
  }

  /** Forget every pending key (of one kind, or both); returns what was deleted. */
  async deletePending(kind?: KeyKind): Promise<KeyEntry[]> {
    const pending = (await this.list()).filter(
      (e) => e.status === "pending" && (!kind || e.kind === kind),
    );
    for (const e of pending) await this.records.remove(e.kind, "pending", e.id);
    return pending;
  }

  /** Reject a pending or accepted key: that id is refused until the key is deleted. */
  async reject(id: string, kind?: KeyKind): Promise<KeyEntry & { was: KeyStatus }> {
    const e = await this.only(id, kind);
    if (e.status !== "rejected") await this.move(e.kind, id, e.status, "rejected");
    return { ...e, status: "rejected", was: e.status };
  }

  /** Forget a key whatever its status: the host may ask again. */
  async delete(id: string, kind?: KeyKind): Promise<KeyEntry> {
    const e = await this.only(id, kind);
    for (const status of STATUSES) await this.records.remove(e.kind, status, id);
    return e;
  }

  /** The one entry for an id; E_KEY_UNKNOWN when none, a usage error when agent and client both use it. */
  private async only(id: string, kind?: KeyKind): Promise<KeyEntry> {
    validateId(id);
    const found = (await this.list()).filter((e) => e.id === id && (!kind || e.kind === kind));
    if (!found.length)
      throw new SaltyError(
        `no ${kind ?? "agent or client"} key with id ${id} in ${this.records.where}`,
        "E_KEY_UNKNOWN",
      );
    if (new Set(found.map((e) => e.kind)).size > 1)
      throw new UsageError(
        `${id} is both an agent and a client key: add --kind agent or --kind client`,
      );
    // A key left in two states by hand: the strictest one counts, as in decide().
    return (
      found.find((e) => e.status === "rejected") ??
      found.find((e) => e.status === "accepted") ??
      found[0]!
    );
  }

  /**
   * Write a new pending key unless limits.maxPendingKeys are pending already (false then): anyone who
   * reaches the master can make a key, and their files must not grow without bound. One at a time,
   * so strangers handshaking at once cannot all slip under the cap.
   */
  private addPending(peer: Peer, from?: Origin): Promise<boolean> {
    const run = this.pendingQueue.then(async () => {
      if ((await this.records.countPending(peer.kind)) >= limits.maxPendingKeys) return false;
      if (await this.create(peer.kind, "pending", peer.id, peer.publicKey, from))
        log("keys.pending", {
          id: peer.id,
          kind: peer.kind,
          fingerprint: fingerprint(peer.publicKey),
          from: from?.address,
        });
      return true;
    });
    this.pendingQueue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private read(kind: KeyKind, status: KeyStatus, id: string): Promise<Uint8Array | undefined> {
    return this.records.read(kind, status, id);
  }

  private create(
    kind: KeyKind,
    status: KeyStatus,
    id: string,
    key: Uint8Array,
    from?: Origin,
  ): Promise<boolean> {
    return this.records.create(kind, status, id, key, from);
  }

  private move(kind: KeyKind, id: string, from: KeyStatus, to: KeyStatus): Promise<void> {
    return this.records.move(kind, id, from, to);
  }
}

/** The time a new key is first seen, to the second. */
export const contactTime = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** One file per key: KEYROOT/{agents,clients}/{pending,accepted,rejected}/ID.pub. */
export class FileKeyRecords implements KeyRecords {
  constructor(private readonly keyroot: string) {}

  get where(): string {
    return this.keyroot;
  }

  async entries(): Promise<KeyEntry[]> {
    const out: KeyEntry[] = [];
    for (const kind of KINDS) {
      for (const status of STATUSES) {
        const names = await readdir(this.dir(kind, status)).catch(() => [] as string[]);
        for (const name of names.sort()) {
          const id = name.endsWith(".pub") ? name.slice(0, -4) : "";
          if (!isId(id)) continue; // temp files and strays
          const text = await readFile(this.file(kind, status, id), "utf8").catch(() => "");
          const publicKey = parseKey(text);
          const contact = CONTACT_RE.exec(text);
          out.push({
            id,
            kind,
            status,
            ...(publicKey ? { publicKey } : {}),
            fingerprint: publicKey ? fingerprint(publicKey) : "(invalid key file)",
            ...(contact ? { address: contact[1]!, firstContact: contact[2]! } : {}),
          });
        }
      }
    }
    return out;
  }

  async countPending(kind: KeyKind): Promise<number> {
    const names = await readdir(this.dir(kind, "pending")).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith(".pub")).length;
  }

  async remove(kind: KeyKind, status: KeyStatus, id: string): Promise<void> {
    await unlink(this.file(kind, status, id)).catch(() => {});
  }

  private dir(kind: KeyKind, status: KeyStatus): string {
    return join(this.keyroot, kindDir(kind), status);
  }

  protected file(kind: KeyKind, status: KeyStatus, id: string): string {
    return join(this.dir(kind, status), `${validateId(id)}.pub`);
  }

  async read(kind: KeyKind, status: KeyStatus, id: string): Promise<Uint8Array | undefined> {
    const path = this.file(kind, status, id);
    const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    return text === undefined ? undefined : keyInFile(text, path);
  }

  async create(
    kind: KeyKind,
    status: KeyStatus,
    id: string,
    key: Uint8Array,
    from?: Origin,
  ): Promise<boolean> {
    await mkdir(this.dir(kind, status), { recursive: true, mode: 0o700 });
    const contact = from ? `# first contact from ${from.address} at ${contactTime()}\n` : "";
    return writeNew(this.file(kind, status, id), encodeKey(key) + "\n" + contact, 0o644);
  }

  async move(kind: KeyKind, id: string, from: KeyStatus, to: KeyStatus): Promise<void> {
    await mkdir(this.dir(kind, to), { recursive: true, mode: 0o700 });
    await rename(this.file(kind, from, id), this.file(kind, to, id));
    // Any copy left in a third state by hand would contradict the move.
    for (const other of STATUSES)
      if (other !== from && other !== to) await unlink(this.file(kind, other, id)).catch(() => {});
  }
}

/** The key a key file's text holds: its first line (a second one records the first contact). */
export function keyInFile(text: string, path?: string): Uint8Array {
  return parsePublicKey(text.split("\n", 1)[0]!, path);
}

function parseKey(text: string): Uint8Array | undefined {
  try {
    return keyInFile(text);
  } catch {
    return undefined;
  }
}

function isId(s: string): boolean {
  try {
    validateId(s);
    return true;
  } catch {
    return false;
  }
}
