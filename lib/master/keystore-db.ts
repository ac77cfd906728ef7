// Agent and client keys in the database several masters share (`--db
// postgres://…`): the same records as the key files (keystore.ts's
// KeyRecords), one row per kind, id and status, so that a key accepted on one
// master is accepted by all at the agent's next handshake (decide() reads the
// row on every connection, as it reads the file). The table comes with the
// history's migrations (lib/history/schema.ts). Keys are public: the rows hold
// no secret.

import { encodeKey, fingerprint, parsePublicKey } from "../crypto/keys.ts";
import type { Db } from "../history/db.ts";
import { migratedOnce } from "../history/schema.ts";
import type { Origin } from "../wire/secure-listener.ts";
import {
  contactTime,
  type KeyEntry,
  type KeyKind,
  type KeyRecords,
  type KeyStatus,
} from "./keystore.ts";

/** KEYROOT/keys-db: the --db URL a master keeps its keys in, so that `salty keys` on its host finds them (mode 0600: it may hold a password). */
export const KEYS_DB_FILE = "keys-db";

const ORDER: Record<string, number> = { agent: 0, client: 1, pending: 0, accepted: 1, rejected: 2 };

export class DbKeyRecords implements KeyRecords {
  readonly where = "the shared database (--db)";

  constructor(private readonly db: Db) {
    this.migrated = migratedOnce(db);
  }

  private readonly migrated: () => Promise<void>;

  async read(kind: KeyKind, status: KeyStatus, id: string): Promise<Uint8Array | undefined> {
    await this.migrated();
    const rows = await this.db.all(
      `SELECT public_key FROM salty_keys WHERE kind = $1 AND id = $2 AND status = $3`,
      [kind, id, status],
    );
    return rows[0]
      ? parsePublicKey(
          String(rows[0].public_key),
          `the ${status} key of ${kind} ${id} in the database`,
        )
      : undefined;
  }

  async create(
    kind: KeyKind,
    status: KeyStatus,
    id: string,
    key: Uint8Array,
    from?: Origin,
  ): Promise<boolean> {
    await this.migrated();
    const rows = await this.db.all(
      `INSERT INTO salty_keys (kind, id, status, public_key, address, first_contact) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
      [kind, id, status, encodeKey(key), from?.address ?? null, from ? contactTime() : null],
    );
    return rows.length > 0;
  }

  async move(kind: KeyKind, id: string, from: KeyStatus, to: KeyStatus): Promise<void> {
    await this.migrated();
    await this.db.transaction(async (tx) => {
      // Whatever else this id had is replaced by the moved key, as a rename over the file would.
      await tx.run(`DELETE FROM salty_keys WHERE kind = $1 AND id = $2 AND status <> $3`, [
        kind,
        id,
        from,
      ]);
      await tx.run(
        `UPDATE salty_keys SET status = $4 WHERE kind = $1 AND id = $2 AND status = $3`,
        [kind, id, from, to],
      );
    });
  }

  async remove(kind: KeyKind, status: KeyStatus, id: string): Promise<void> {
    await this.migrated();
    await this.db.run(`DELETE FROM salty_keys WHERE kind = $1 AND id = $2 AND status = $3`, [
      kind,
      id,
      status,
    ]);
  }

  async countPending(kind: KeyKind): Promise<number> {
    await this.migrated();
    const rows = await this.db.all(
      `SELECT COUNT(*) AS n FROM salty_keys WHERE kind = $1 AND status = 'pending'`,
      [kind],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async entries(): Promise<KeyEntry[]> {
    await this.migrated();
    const rows = await this.db.all(
      `SELECT kind, id, status, public_key, address, first_contact FROM salty_keys`,
    );
    const out = rows.map((r): KeyEntry => {
      let publicKey: Uint8Array | undefined;
      try {
        publicKey = parsePublicKey(String(r.public_key));
      } catch {}
      return {
        id: String(r.id),
        kind: String(r.kind) as KeyKind,
        status: String(r.status) as KeyStatus,
        ...(publicKey ? { publicKey } : {}),
        fingerprint: publicKey ? fingerprint(publicKey) : "(invalid key)",
        ...(r.address && r.first_contact
          ? { address: String(r.address), firstContact: String(r.first_contact) }
          : {}),
      };
    });
    return out.sort(
      (a, b) =>
        ORDER[a.kind]! - ORDER[b.kind]! ||
        ORDER[a.status]! - ORDER[b.status]! ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
