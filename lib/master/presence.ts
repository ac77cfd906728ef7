// Several masters on one database (`--db postgres://…`): each records the
// agents connected to it (agent_presence: agent, master name, a heartbeat), so
// that an apply on m1 for a host connected only to m2 says `connected to m2`.
// Writes follow the registry's connects and disconnects in order, one at a
// time; a heartbeat every timing.presenceHeartbeatMs refreshes this master's
// rows (a master killed without a word leaves rows that go stale after three
// beats). A database that is down costs a log line, never an apply.

import { timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { Db } from "../history/db.ts";
import { migrate } from "../history/schema.ts";

export interface Presence {
  connected(id: string): void;
  disconnected(id: string): void;
  /** For each of these ids connected to another master (live), that master's name. */
  elsewhere(ids: string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export function presence(db: Db, master: string, connectedIds: () => string[]): Presence {
  let failing = false;
  let tail: Promise<void> = migrate(db)
    .then(() => db.run(`DELETE FROM agent_presence WHERE master = $1`, [master])) // what this master's last run left
    .catch((err) => {
      failing = true;
      log("presence.failed", { what: "start", error: errorMessage(err) });
    });
  const queue = (what: string, fn: () => Promise<void>) => {
    tail = tail
      .catch(() => {})
      .then(fn)
      .then(
        () => void (failing = false),
        (err) => {
          if (!failing) log("presence.failed", { what, error: errorMessage(err) });
          failing = true;
        },
      );
  };
  const beat = setInterval(() => {
    const ids = connectedIds();
    queue("heartbeat", async () => {
      const now = Date.now();
      await db.transaction(async (tx) => {
        await tx.run(`UPDATE agent_presence SET seen_at = $2 WHERE master = $1`, [master, now]);
        // Rows lost while the database was down come back.
        for (const id of ids) await tx.run(`INSERT INTO agent_presence (agent, master, connected_at, seen_at) VALUES ($1, $2, $3, $3) ON CONFLICT (agent, master) DO NOTHING`, [id, master, now]);
      });
    });
  }, timing.presenceHeartbeatMs);
  beat.unref?.();
  return {
    connected(id) {
      queue("connect", async () => {
        const now = Date.now();
        await db.run(`INSERT INTO agent_presence (agent, master, connected_at, seen_at) VALUES ($1, $2, $3, $3) ON CONFLICT (agent, master) DO UPDATE SET connected_at = $3, seen_at = $3`, [id, master, now]);
      });
    },
    disconnected(id) {
      queue("disconnect", () => db.run(`DELETE FROM agent_presence WHERE agent = $1 AND master = $2`, [id, master]));
    },
    async elsewhere(ids) {
      const out = new Map<string, string>();
      if (!ids.length) return out;
      try {
        await tail.catch(() => {});
        const since = Date.now() - 3 * timing.presenceHeartbeatMs;
        const rows = await db.all(`SELECT agent, master FROM agent_presence WHERE master <> $1 AND seen_at > $2 ORDER BY seen_at DESC`, [master, since]);
        const wanted = new Set(ids);
        for (const r of rows) {
          const id = String(r.agent);
          if (wanted.has(id) && !out.has(id)) out.set(id, String(r.master));
        }
      } catch (err) {
        log("presence.failed", { what: "lookup", error: errorMessage(err) });
      }
      return out;
    },
    async close() {
      clearInterval(beat);
      queue("close", () => db.run(`DELETE FROM agent_presence WHERE master = $1`, [master]));
      await tail.catch(() => {});
      await db.close();
    },
  };
}
