// Several masters on one database (`--db postgres://…`): each records the
// agents connected to it (agent_presence: agent, master name, a heartbeat), so
// that an apply on m1 for a host connected only to m2 says `connected to m2`.
// The registry's connects and disconnects are gathered for a moment and
// written together (one statement per 500 agents: a master restarted under
// thousands of reconnecting agents makes a few round trips, not thousands); a
// heartbeat every timing.presenceHeartbeatMs is one UPDATE of this master's
// rows (a master killed without a word leaves rows that go stale after three
// beats). After a failed write the next beat rewrites this master's rows from
// the registry. A database that is down costs a log line, never an apply.

import { timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { Db, Sql } from "../history/db.ts";
import { migrate } from "../history/schema.ts";

export interface Presence {
  connected(id: string): void;
  disconnected(id: string): void;
  /** For each of these ids connected to another master (live), that master's name. */
  elsewhere(ids: string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

const CHUNK = 500;

function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

async function insert(tx: Sql, master: string, now: number, ids: string[]): Promise<void> {
  for (const c of chunks(ids)) {
    const rows = c.map((_, i) => `($${i + 3}, $1, $2, $2)`).join(", ");
    await tx.run(
      `INSERT INTO agent_presence (agent, master, connected_at, seen_at) VALUES ${rows} ON CONFLICT (agent, master) DO UPDATE SET connected_at = $2, seen_at = $2`,
      [master, now, ...c],
    );
  }
}

export function presence(db: Db, master: string, connectedIds: () => string[]): Presence {
  /** The last change of each agent not yet written: true connected, false gone. */
  const changes = new Map<string, boolean>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failing = false;
  /** The rows may not match the registry (a write failed, or the start): rewrite them all at the next write. */
  let resync = true;
  let tail: Promise<void> = migrate(db).then(
    () => {},
    (err) => fail("start", err),
  );

  function fail(what: string, err: unknown): void {
    if (!failing) log("presence.failed", { what, error: errorMessage(err) });
    failing = true;
    resync = true;
  }

  async function write(beat: boolean): Promise<void> {
    const batch = [...changes];
    changes.clear();
    const whole = resync;
    if (!whole && !batch.length && !beat) return;
    const now = Date.now();
    try {
      await db.transaction(async (tx) => {
        if (whole) {
          await tx.run(`DELETE FROM agent_presence WHERE master = $1`, [master]);
          await insert(tx, master, now, connectedIds());
          return;
        }
        for (const c of chunks(batch.filter(([, up]) => !up).map(([id]) => id))) {
          await tx.run(
            `DELETE FROM agent_presence WHERE master = $1 AND agent IN (${c.map((_, i) => `$${i + 2}`).join(", ")})`,
            [master, ...c],
          );
        }
        await insert(
          tx,
          master,
          now,
          batch.filter(([, up]) => up).map(([id]) => id),
        );
        if (beat)
          await tx.run(`UPDATE agent_presence SET seen_at = $2 WHERE master = $1`, [master, now]);
      });
      resync = false;
      failing = false;
    } catch (err) {
      fail(beat ? "heartbeat" : "write", err);
    }
  }

  const queue = (beat: boolean) => {
    tail = tail.then(() => write(beat));
  };
  const soon = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      queue(false);
    }, 50);
  };
  queue(false); // the start: this master's rows left by its last run replaced by what it holds now
  const beat = setInterval(() => queue(true), timing.presenceHeartbeatMs);
  beat.unref?.();

  return {
    connected(id) {
      changes.set(id, true);
      soon();
    },
    disconnected(id) {
      changes.set(id, false);
      soon();
    },
    async elsewhere(ids) {
      const out = new Map<string, string>();
      if (!ids.length) return out;
      try {
        const since = Date.now() - 3 * timing.presenceHeartbeatMs;
        for (const c of chunks(ids)) {
          const rows = await db.all(
            `SELECT agent, master FROM agent_presence WHERE master <> $1 AND seen_at > $2 AND agent IN (${c.map((_, i) => `$${i + 3}`).join(", ")}) ORDER BY seen_at DESC`,
            [master, since, ...c],
          );
          for (const r of rows)
            if (!out.has(String(r.agent))) out.set(String(r.agent), String(r.master));
        }
      } catch (err) {
        log("presence.failed", { what: "lookup", error: errorMessage(err) });
      }
      return out;
    },
    async close() {
      clearInterval(beat);
      if (timer) clearTimeout(timer);
      tail = tail.then(() =>
        db.run(`DELETE FROM agent_presence WHERE master = $1`, [master]).catch(() => {}),
      );
      await tail;
      await db.close();
    },
  };
}
