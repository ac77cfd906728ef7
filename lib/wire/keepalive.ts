// Liveness for a long-lived connection: drop it when nothing has been heard
// from the peer for peerTimeoutMs, and ping the peer every pingIntervalMs so
// that a live one is heard. Both the master and the agent run it, so either
// side notices a dead or frozen peer.
//
// One side's pings keep both sides informed (the pinged side hears the ping,
// the pinger its reply), so the agent pings and the master watches (`watch`):
// it pings only a peer it has not heard for one and a half intervals (one
// that does not ping on its own), so an idle connection carries one ping and
// one reply an interval, not two of each (at 10,000 agents, 2,000 frames a
// second fewer for the master to seal, write, read and open). Both sides'
// timers start with the connection, in phase: a plain "heard lately" rule
// left both pinging. A side that heard its peer within the last half
// interval (an apply's traffic) skips its ping.

import { timing } from "../constants.ts";
import type { Api, Method, Rpc } from "./rpc.ts";

type Pingable = Api & { ping: Method<null, null> };

export function keepAlive<L extends Api, R extends Pingable>(
  rpc: Rpc<L, R>,
  opts: { watch?: boolean } = {},
): void {
  const timer = setInterval(() => {
    // Bytes of a frame still arriving count: a 20 MB message on a slow or busy
    // link may take longer than the timeout, and its sender is not silent.
    const heard = Math.max(rpc.lastSeen, rpc.link.heardAt ?? 0);
    const silent = performance.now() - heard;
    if (silent > timing.peerTimeoutMs) {
      rpc.close(`no answer for ${timing.peerTimeoutMs / 1000}s`);
      return;
    }
    if (silent < timing.pingIntervalMs * (opts.watch ? 1.5 : 0.5)) return;
    // The reply refreshes lastSeen; a failure is handled by the check above or by the close.
    rpc.call("ping", null, { timeoutMs: timing.peerTimeoutMs }).catch(() => {});
  }, timing.pingIntervalMs);
  rpc.onClose(() => clearInterval(timer));
}
