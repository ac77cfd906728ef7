// The agent's half of lib/master/shared-hosts.ts. The `hosts` every role
// context shares arrive once per content (by digest): the connection keeps
// the bytes and hands them to the role executor with each request
// (SharedHostsStore), and the executor (the role worker) decodes them once per
// digest and gives each run the same frozen object, less this host itself
// (SharedHostsCache): no run copies or walks the other hosts again. It trusts
// nothing it did not receive on this connection.

import type { HostInfo } from "salty";
import { ProtocolError } from "../errors.ts";
import { decode } from "../wire/codec.ts";
import type { RunRoleRequest, SharedHostsRef } from "../wire/api.ts";

/** Per connection (main thread): every request leaves with the hosts' bytes, whichever worker runs it. */
export class SharedHostsStore {
  private digest: string | undefined;
  private packed: Uint8Array | undefined;

  attach<R extends { sharedHosts?: SharedHostsRef }>(req: R): R {
    const ref = req.sharedHosts;
    if (!ref) return req;
    if (ref.packed) {
      this.digest = ref.digest;
      // Its own buffer: a view would keep the whole frame it came in, and clone it with each request.
      this.packed = new Uint8Array(ref.packed);
      return { ...req, sharedHosts: { digest: ref.digest, packed: this.packed } };
    }
    if (ref.digest !== this.digest || !this.packed)
      throw new ProtocolError(
        `shared hosts ${ref.digest.slice(0, 12)} were never received on this connection`,
        "E_PARAMS",
      );
    return { ...req, sharedHosts: { digest: ref.digest, packed: this.packed } };
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Per executor: the hosts decoded once per digest; the runs of one agent share them, read-only. */
export class SharedHostsCache {
  private digest: string | undefined;
  private hosts: Record<string, HostInfo> = {};
  private without = new Map<string, Record<string, HostInfo>>();

  /** The request with its context's `hosts` filled in (unchanged when it has no shared hosts). */
  expand(req: RunRoleRequest): RunRoleRequest {
    const ref = req.sharedHosts;
    if (!ref) return req;
    if (ref.digest !== this.digest) {
      if (!ref.packed)
        throw new ProtocolError("shared hosts arrived without their content", "E_PARAMS");
      const hosts = decode(ref.packed);
      if (hosts === null || typeof hosts !== "object" || Array.isArray(hosts))
        throw new ProtocolError("shared hosts must be an object", "E_PARAMS");
      this.hosts = deepFreeze(hosts as Record<string, HostInfo>);
      this.digest = ref.digest;
      this.without.clear();
    }
    const id = req.context.id;
    let others = this.without.get(id);
    if (!others) {
      const { [id]: _self, ...rest } = this.hosts;
      others = Object.freeze(rest);
      this.without.set(id, others);
    }
    const { sharedHosts: _ref, ...plain } = req;
    return { ...plain, context: { ...req.context, hosts: others } };
  }
}
