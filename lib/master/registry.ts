// The connected agents, by id. One session per id: a reconnecting agent
// replaces its old session (which is closed); what each session holds is in
// connected-agent.ts. Also the per-host apply lock.

import { log } from "../log.ts";
import type { HostEntry } from "../wire/api.ts";
import type { AgentSession } from "./connected-agent.ts";

export type { AgentSession };

export class Registry {
  private agents = new Map<string, AgentSession>();
  /** Per host id, not per session: an apply must not interleave with one still draining on an old session. */
  private locks = new Map<string, Promise<void>>();
  /** When each agent that went away was last connected (since the master started): `salty ping` says it. */
  private gone = new Map<string, Date>();
  /** Told of each connect and disconnect (several masters: lib/master/presence.ts). */
  private watchers: Array<(id: string, connected: boolean) => void> = [];

  watch(fn: (id: string, connected: boolean) => void): void {
    this.watchers.push(fn);
  }

  add(session: AgentSession): void {
    const old = this.agents.get(session.id);
    if (old && old !== session) old.rpc.close("replaced by a new connection from the same agent");
    this.agents.set(session.id, session);
    this.gone.delete(session.id);
    log("agent.connected", { id: session.id, peer: session.peer });
    for (const w of this.watchers) w(session.id, true);
  }

  remove(session: AgentSession, reason: string): void {
    if (this.agents.get(session.id) !== session) return;
    this.agents.delete(session.id);
    this.gone.set(session.id, new Date());
    log("agent.disconnected", { id: session.id, peer: session.peer, reason });
    for (const w of this.watchers) w(session.id, false);
  }

  get(id: string): AgentSession | undefined {
    return this.agents.get(id);
  }

  /** When a disconnected agent was last connected; undefined if not since the master started. */
  lastSeen(id: string): Date | undefined {
    return this.gone.get(id);
  }

  ids(): string[] {
    return [...this.agents.keys()].sort();
  }

  get size(): number {
    return this.agents.size;
  }

  entries(): Record<string, HostEntry> {
    const out: Record<string, HostEntry> = {};
    for (const id of this.ids()) {
      const s = this.agents.get(id)!;
      out[id] = {
        facts: s.facts,
        connected: s.connected.toISOString(),
        peer: s.peer,
        version: s.version,
        ...(s.applyEvery ? { scheduled: scheduled(s, s.applyEvery) } : {}),
      };
    }
    return out;
  }

  /** Run `fn` when the host's earlier applies are done; the next apply waits for this one. */
  async exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.locks.set(id, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(id) === mine) this.locks.delete(id);
    }
  }
}

/** Late: no scheduled apply asked for in two periods (since it connected, or since its last request). */
function scheduled(s: AgentSession, everyMs: number): NonNullable<HostEntry["scheduled"]> {
  const since = Math.max(s.connected.getTime(), s.scheduledAt?.getTime() ?? 0);
  return {
    everyMs,
    ...(s.scheduledAt ? { last: s.scheduledAt.toISOString() } : {}),
    late: Date.now() - since > 2 * everyMs,
  };
}
