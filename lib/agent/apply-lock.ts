// The host's apply lock across masters (`salty agent m1,m2`: one session per
// master, one role executor). An apply is the role requests that share one
// `apply` id (lib/master/scheduler.ts); the lock is taken by the first of them
// and held until its `last` role has run, or its session ends (a master killed
// mid-apply). A role request from another master's session meanwhile is
// refused at once with a clear message, never queued: waiting behind an apply
// of unknown length would hold that master's client for as long, and run its
// roles over a host the other master is still changing. One master alone
// always holds it: nothing changes for a single-master agent.

import { SaltyError } from "../errors.ts";
import type { RunRoleRequest } from "../wire/api.ts";

interface Holder {
  session: object;
  master: string;
  apply: string;
}

export class ApplyLock {
  private holder: Holder | undefined;

  /**
   * Admit a role request of `session` (to `master`); throws E_HOST_BUSY while another session's
   * apply holds the host. Returns what to call once the role has run.
   */
  enter(session: object, master: string, req: Pick<RunRoleRequest, "apply" | "last">): () => void {
    if (!req.apply) return () => {}; // an older master: no apply id, nothing to hold
    const h = this.holder;
    if (h && h.session !== session) {
      throw new SaltyError(
        `this host is applying roles for another master (${h.master}); apply again when that apply ends`,
        "E_HOST_BUSY",
      );
    }
    if (!h || h.apply !== req.apply) this.holder = { session, master, apply: req.apply };
    const mine = this.holder!;
    return () => {
      if (req.last && this.holder === mine) this.holder = undefined;
    };
  }

  /** The session ended: whatever apply it held is over. */
  leave(session: object): void {
    if (this.holder?.session === session) this.holder = undefined;
  }
}
