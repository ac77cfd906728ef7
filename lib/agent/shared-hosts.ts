// The agent's half of lib/master/shared-hosts.ts: the `hosts` every role
// context shares arrive once per content (by digest) and are kept for the
// connection; each role request gets them back, less this host itself.
// It trusts nothing it did not receive on this connection.

import type { HostInfo } from "salty";
import { ProtocolError } from "../errors.ts";
import { decode } from "../wire/codec.ts";
import type { RunRoleRequest } from "../wire/api.ts";

export class SharedHosts {
  private digest: string | undefined;
  private hosts: Record<string, HostInfo> = {};

  /** The request with its context's `hosts` filled in (unchanged when it has no shared hosts). */
  expand(req: RunRoleRequest): RunRoleRequest {
    const ref = req.sharedHosts;
    if (!ref) return req;
    if (ref.packed) {
      const hosts = decode(ref.packed);
      if (hosts === null || typeof hosts !== "object" || Array.isArray(hosts)) throw new ProtocolError("shared hosts must be an object", "E_PARAMS");
      this.hosts = hosts as Record<string, HostInfo>;
      this.digest = ref.digest;
    } else if (ref.digest !== this.digest) {
      throw new ProtocolError(`shared hosts ${ref.digest.slice(0, 12)} were never received on this connection`, "E_PARAMS");
    }
    const { [req.context.id]: _self, ...others } = this.hosts;
    const { sharedHosts: _ref, ...rest } = req;
    return { ...rest, context: { ...req.context, hosts: others } };
  }
}
