// Just after a master (re)starts its agents are still reconnecting: an apply
// then would call them missing. An apply issued within
// `timing.startupWaitMs` of the start first waits, up to the end of that
// window, for the agents it would run on had they connected: those whose keys
// are accepted and that the apply covers (an accepted agent the inventory or
// the target leaves out costs no wait). It says so (an apply.progress with
// `waiting`). Later applies pay nothing.

import { timing } from "../constants.ts";
import type { ApplyRequest } from "../wire/api.ts";
import type { ApplyScope } from "./scheduler.ts";

export interface StartupWaitDeps {
  /** performance.now() when the master started listening. */
  startedAt: number;
  /** Ids of the accepted agent keys (read once, on the first apply within the window). */
  knownAgents(): Promise<string[]>;
  connectedIds(): string[];
  /** One agent's presence, asked while waiting: O(1), so a wait for 10,000 agents is not O(n²). */
  isConnected(id: string): boolean;
  scope(req: ApplyRequest, connected: string[]): Promise<ApplyScope>;
}

/** The scheduler's `awaitKnownAgents`. */
export function startupWait(
  deps: StartupWaitDeps,
): (req: ApplyRequest, tell: (agents: number, ms: number) => void) => Promise<void> {
  let known: Promise<string[]> | undefined;
  const left = () => deps.startedAt + timing.startupWaitMs - performance.now();
  return async (req, tell) => {
    if (left() <= 0) return;
    known ??= deps.knownAgents();
    const connected = new Set(deps.connectedIds());
    const away = (await known).filter((id) => !connected.has(id));
    if (away.length === 0) return;
    let awaited: string[];
    try {
      // The scope as if they were back: which of them this apply would run on.
      const scope = await deps.scope(req, [...connected, ...away]);
      awaited = scope.hosts
        .filter((h) => h.status === "run" && !connected.has(h.id))
        .map((h) => h.id);
    } catch {
      return; // the real scope, made next, reports the error
    }
    // Those still away, shrinking as they come back: each poll asks only for them, once each.
    const stillAway = () => {
      awaited = awaited.filter((id) => !deps.isConnected(id));
      return awaited.length;
    };
    if (stillAway() === 0 || left() <= 0) return;
    tell(awaited.length, Math.ceil(left()));
    while (left() > 0 && stillAway() > 0) await Bun.sleep(Math.min(50, Math.max(1, left())));
  };
}
