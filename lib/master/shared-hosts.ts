// The `hosts` of a role's context (every other host of the inventory, with its
// facts) is the same for all hosts of an apply, less the host itself, and
// weighs about a kilobyte per host: encoding it into every role request made
// an apply O(hosts²). It is encoded once per apply and sent to each agent
// connection once per content (by digest, SharedHostsSent on its session); the agent keeps it and takes
// itself out (lib/agent/shared-hosts.ts).
//
// Even once per connection it is O(hosts²) over a fleet (7 MB to each of
// 10,000 agents: docs/scale.md), so a role whose code never names `hosts` or
// `getIps` (namesHosts) is sent without them, to an agent that says it can do
// without (Capabilities.hostsOnDemand): the agent refuses the role's own reads
// of them with a clear error, and a template of that role that names them
// fetches them (hosts.fetch, answered by `fetch` below with exactly what would
// have been sent). No I/O; it decides nothing else.

import type { HostInfo } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { encode } from "../wire/codec.ts";
import type { SharedHostsRef } from "../wire/api.ts";

interface Packed {
  digest: string;
  packed: Uint8Array;
}

/** One encoding per `others` object (one per apply). */
const packedOf = new WeakMap<object, Packed>();
function pack(others: Record<string, HostInfo>): Packed {
  let p = packedOf.get(others);
  if (!p) {
    const packed = encode(others);
    p = { digest: hashBytes(packed), packed };
    packedOf.set(others, p);
  }
  return p;
}

/**
 * The words by which code reaches the shared hosts: `hosts` itself and `getIps`, computed from them
 * (myIp reads only the host's own facts). A word match, conservative: a comment or a string that says
 * one counts too. Code that reaches them without saying either (`ctx["ho" + "sts"]`) gets the agent's
 * clear error, never an empty value. The agent's check of templates (operators/_template.ts) adds the
 * words by which EJS code reaches every local at once.
 */
export const HOSTS_WORDS = /\b(?:hosts|getIps)\b/;

/** The code the master sends for one role: its source and the roles/lib/ modules it imports. */
interface RoleCode {
  source: string;
  modules?: Record<string, string>;
}

/** Once per RoleSource object: the scheduler reads each role's source once per apply, for all its hosts. */
const namesOf = new WeakMap<RoleCode, boolean>();

/** Whether the role or a module it imports names `hosts` or `getIps`: only then are the hosts sent with it. */
export function namesHosts(src: RoleCode): boolean {
  let names = namesOf.get(src);
  if (names === undefined) {
    names =
      HOSTS_WORDS.test(src.source) ||
      Object.values(src.modules ?? {}).some((text) => HOSTS_WORDS.test(text));
    namesOf.set(src, names);
  }
  return names;
}

/** The shared hosts one agent connection holds (on its session), and those its current apply may fetch. */
export class SharedHostsSent {
  private held: string | undefined;
  private offered: Record<string, HostInfo> | undefined;

  /** What a role request carries: the digest, plus the hosts when the connection does not hold them yet. */
  refFor(others: Record<string, HostInfo>): SharedHostsRef {
    const { digest, packed } = pack(others);
    if (this.held === digest) return { digest };
    this.held = digest;
    return { digest, packed };
  }

  /** What a role request carries when its code does not name the hosts: their digest only; its templates may fetch them. */
  withheld(others: Record<string, HostInfo>): SharedHostsRef {
    this.offered = others;
    return { digest: pack(others).digest, onDemand: true };
  }

  /**
   * hosts.fetch: the hosts a request of this apply was sent without, by their digest, and nothing else
   * (other hosts' secret vars are not in them: inventory/context.ts publicHosts). Not counted as held:
   * the agent keeps what it fetched apart from what requests bring it (agent/shared-hosts.ts).
   */
  fetch(digest: string): Uint8Array {
    const p = this.offered && pack(this.offered);
    if (!p || p.digest !== digest)
      throw new SaltyError(
        `shared hosts ${digest.slice(0, 12)} are not those of this agent's apply`,
        "E_DENIED",
      );
    return p.packed;
  }

  /** The apply is over on this connection: nothing is offered any more. */
  endApply(): void {
    this.offered = undefined;
  }

  /** The connection may have lost what it held (a failed request): send the hosts again next time. */
  forget(): void {
    this.held = undefined;
  }
}
