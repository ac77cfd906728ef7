// The agent's half of lib/master/shared-hosts.ts. The `hosts` every role
// context shares arrive once per content (by digest): the connection keeps
// the bytes and hands them to the role executor with each request
// (SharedHostsStore), and the executor (the role worker) decodes them once per
// digest and gives each run the same frozen object, less this host itself
// (SharedHostsCache): no run copies or walks the other hosts again. It trusts
// nothing it did not receive on this connection.
//
// A request whose role's code names neither `hosts` nor `getIps` comes
// without them (`onDemand`): the role's own reads of them throw a clear error
// (refuseHosts), never an empty value, and a template of that role that names
// them gets them from the master first (hosts.fetch, kept apart from what
// requests bring: the master counts only the latter as held).

import type { HostContext, HostInfo } from "salty";
import { ProtocolError, SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { hashBytes } from "../sys/hash.ts";
import { decode } from "../wire/codec.ts";
import type { RunRoleRequest, SharedHostsRef } from "../wire/api.ts";

interface Held {
  digest: string;
  packed: Uint8Array;
}

/** Per connection (main thread): every request leaves with the hosts' bytes, whichever worker runs it. */
export class SharedHostsStore {
  private pushed: Held | undefined;
  private fetched: Held | undefined;
  private fetching: Promise<Held> | undefined;

  attach<R extends { sharedHosts?: SharedHostsRef }>(req: R): R {
    const ref = req.sharedHosts;
    if (!ref || ref.onDemand) return req;
    if (ref.packed) {
      // Its own buffer: a view would keep the whole frame it came in, and clone it with each request.
      this.pushed = { digest: ref.digest, packed: new Uint8Array(ref.packed) };
      log("agent.shared_hosts", { bytes: ref.packed.length, via: "role.run" });
      return { ...req, sharedHosts: { digest: ref.digest, packed: this.pushed.packed } };
    }
    if (ref.digest !== this.pushed?.digest)
      throw new ProtocolError(
        `shared hosts ${ref.digest.slice(0, 12)} were never received on this connection`,
        "E_PARAMS",
      );
    return { ...req, sharedHosts: { digest: ref.digest, packed: this.pushed.packed } };
  }

  /** The bytes of the hosts `digest` for a template: held already, or asked of the master (`ask`) and checked against it. */
  async fetch(digest: string, ask: () => Promise<unknown>): Promise<Uint8Array> {
    for (const h of [this.pushed, this.fetched]) if (h?.digest === digest) return h.packed;
    const pending = this.fetching;
    if (pending) {
      const got = await pending.catch(() => undefined);
      if (got?.digest === digest) return got.packed;
    }
    const asking = (async (): Promise<Held> => {
      const bytes = await ask();
      if (!(bytes instanceof Uint8Array) || hashBytes(bytes) !== digest)
        throw new ProtocolError(
          `the master answered hosts.fetch ${digest.slice(0, 12)} with other content`,
          "E_PARAMS",
        );
      log("agent.shared_hosts", { bytes: bytes.length, via: "hosts.fetch" });
      return { digest, packed: new Uint8Array(bytes) };
    })();
    this.fetching = asking;
    try {
      this.fetched = await asking;
      return this.fetched.packed;
    } finally {
      if (this.fetching === asking) this.fetching = undefined;
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The hosts of a role sent without them, as its run may have them: `load` for its templates (once per run at most). */
export interface HostsOnDemand {
  load(): Promise<Record<string, HostInfo>>;
  /** Those loaded so far; undefined before `load` settled. */
  loaded(): Record<string, HostInfo> | undefined;
}

/** Per executor: the hosts decoded once per digest; the runs of one agent share them, read-only. */
export class SharedHostsCache {
  private digest: string | undefined;
  private hosts: Record<string, HostInfo> = {};
  private without = new Map<string, Record<string, HostInfo>>();

  /**
   * The request with its context's `hosts` filled in (unchanged when it has no shared hosts). One sent
   * without them (`onDemand`) has no `hosts` at all, and `onDemand` says how its templates get them:
   * `bytes` asks the connection for them (RoleCaps.sharedHosts).
   */
  expand(
    req: RunRoleRequest,
    bytes?: (digest: string) => Promise<Uint8Array>,
  ): RunRoleRequest & { onDemand?: HostsOnDemand } {
    const ref = req.sharedHosts;
    if (!ref) return req;
    const { sharedHosts: _ref, ...plain } = req;
    if (ref.onDemand) {
      const { hosts: _none, ...context } = req.context;
      const onDemand = this.onDemand(ref.digest, req.context.id, bytes);
      return { ...plain, context: context as HostContext, onDemand };
    }
    if (ref.digest !== this.digest) {
      if (!ref.packed)
        throw new ProtocolError("shared hosts arrived without their content", "E_PARAMS");
      this.hold(ref.digest, ref.packed);
    }
    return { ...plain, context: { ...req.context, hosts: this.othersOf(req.context.id) } };
  }

  private onDemand(
    digest: string,
    id: string,
    bytes: ((digest: string) => Promise<Uint8Array>) | undefined,
  ): HostsOnDemand {
    let hosts: Record<string, HostInfo> | undefined;
    let loading: Promise<Record<string, HostInfo>> | undefined;
    const load = async () => {
      if (digest !== this.digest) {
        if (!bytes)
          throw new SaltyError("this agent cannot ask the master for the shared hosts", "E_HOSTS");
        const packed = await bytes(digest);
        if (digest !== this.digest) this.hold(digest, packed);
      }
      hosts = this.othersOf(id);
      return hosts;
    };
    return {
      load: () => (loading ??= load()),
      loaded: () => hosts,
    };
  }

  private hold(digest: string, packed: Uint8Array): void {
    const hosts = decode(packed);
    if (hosts === null || typeof hosts !== "object" || Array.isArray(hosts))
      throw new ProtocolError("shared hosts must be an object", "E_PARAMS");
    this.hosts = deepFreeze(hosts as Record<string, HostInfo>);
    this.digest = digest;
    this.without.clear();
  }

  private othersOf(id: string): Record<string, HostInfo> {
    let others = this.without.get(id);
    if (!others) {
      const { [id]: _self, ...rest } = this.hosts;
      others = Object.freeze(rest);
      this.without.set(id, others);
    }
    return others;
  }
}

/**
 * A role sent without the hosts: its own reads of `hosts` and `getIps` (which only code that does not
 * name them can make: `ctx["ho" + "sts"]`, a spread of the context) throw this, never an empty value.
 */
export function refuseHosts(target: object, filename: string): void {
  for (const name of ["hosts", "getIps"])
    Object.defineProperty(target, name, {
      enumerable: true,
      configurable: true,
      get() {
        throw new SaltyError(
          `${name} was not sent to this role: the master sends the other hosts only to a role whose code ` +
            `(${filename} and the roles/lib/ modules it imports) names \`hosts\` or \`getIps\`; ` +
            "name one of them there (a comment will do)",
          "E_HOSTS",
        );
      },
    });
}
