// Liveness for a long-lived connection: ping the peer every pingIntervalMs and
// drop the connection when nothing has been heard for peerTimeoutMs. Both the
// master and the agent run it, so either side notices a dead or frozen peer.
//
// One side's ping keeps both informed (the pinged side hears the ping, the
// pinger its reply), so a side that heard its peer within the last half
// interval does not ping: an idle connection carries one ping and one reply
// an interval, not two of each (at 10,000 agents, 2,000 frames a second
// fewer written and sealed by the master).

import { timing } from "../constants.ts";
import type { Api, Method, Rpc } from "./rpc.ts";

type Pingable = Api & { ping: Method<null, null> };

export function keepAlive<L extends Api, R extends Pingable>(rpc: Rpc<L, R>): void {
  const timer = setInterval(() => {
    // Bytes of a frame still arriving count: a 20 MB message on a slow or busy
    // link may take longer than the timeout, and its sender is not silent.
    const heard = Math.max(rpc.lastSeen, rpc.link.heardAt ?? 0);
    const silent = performance.now() - heard;
    if (silent > timing.peerTimeoutMs) {
      rpc.close(`no answer for ${timing.peerTimeoutMs / 1000}s`);
      return;
    }
    if (silent < timing.pingIntervalMs / 2) return;
    // The reply refreshes lastSeen; a failure is handled by the check above or by the close.
    rpc.call("ping", null, { timeoutMs: timing.peerTimeoutMs }).catch(() => {});
  }, timing.pingIntervalMs);
  rpc.onClose(() => clearInterval(timer));
}
