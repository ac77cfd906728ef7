// `salty ping`: each targeted agent asked over its live connection (the
// agent's ping method), all at once, each answer timed; an agent that is not
// connected says when it was last seen, or that its key waits to be accepted.
// Connected agents outside the inventory that the target matches are asked too.

import { SaltyError, errorMessage } from "../errors.ts";
import type { PingHost, PingReply } from "../wire/api.ts";
import type { Registry } from "./registry.ts";
import type { Selection } from "./targeting.ts";

export interface PingDeps {
  registry: Registry;
  select(target: string | undefined): Promise<Selection>;
  /** Agent ids whose key is pending (none known: every absent host is "not connected"). */
  pendingAgents?(): Promise<string[]>;
  /** Several masters: for hosts not connected here, the other master each is connected to (presence.ts). */
  elsewhere?(ids: string[]): Promise<Map<string, string>>;
}

export async function pingHosts(
  target: string | undefined,
  timeoutMs: number,
  deps: PingDeps,
): Promise<PingReply> {
  const t0 = performance.now();
  const { hosts, strangers } = await deps.select(target);
  const absent = hosts.filter((h) => !h.connected).map((h) => h.id);
  const pending = new Set(absent.length ? ((await deps.pendingAgents?.()) ?? []) : []);
  const where = absent.length && deps.elsewhere ? await deps.elsewhere(absent) : undefined;
  const ask = async (id: string): Promise<PingHost> => {
    const session = deps.registry.get(id);
    if (!session) {
      if (pending.has(id)) return { id, status: "key pending" };
      const seen = deps.registry.lastSeen(id);
      const other = where?.get(id);
      return {
        id,
        status: "not connected",
        ...(seen ? { lastSeen: seen.toISOString() } : {}),
        ...(other ? { connectedTo: other } : {}),
      };
    }
    const start = performance.now();
    try {
      await session.rpc.call("ping", null, { timeoutMs });
      return { id, status: "ok", ms: performance.now() - start };
    } catch (err) {
      if (err instanceof SaltyError && err.code === "E_TIMEOUT") return { id, status: "timeout" };
      return { id, status: "error", error: errorMessage(err).replace(/^ping: /, "") };
    }
  };
  const answers = await Promise.all([
    ...hosts.map((h) => ask(h.id)),
    ...strangers.map(async (id) => ({ ...(await ask(id)), notInInventory: true as const })),
  ]);
  return { hosts: answers, timeoutMs, elapsed: (performance.now() - t0) / 1000 };
}
