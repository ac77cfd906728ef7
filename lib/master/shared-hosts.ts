// The `hosts` of a role's context (every other host of the inventory, with its
// facts) is the same for all hosts of an apply, less the host itself, and
// weighs about a kilobyte per host: encoding it into every role request made
// an apply O(hosts²). It is encoded once per apply and sent to each agent
// connection once per content (by digest, SharedHostsSent on its session); the agent keeps it and takes
// itself out (lib/agent/shared-hosts.ts). No I/O; it decides nothing else.

import type { HostInfo } from "salty";
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

/** The shared hosts one agent connection holds (on its session). */
export class SharedHostsSent {
  private held: string | undefined;

  /** What a role request carries: the digest, plus the hosts when the connection does not hold them yet. */
  refFor(others: Record<string, HostInfo>): SharedHostsRef {
    const { digest, packed } = pack(others);
    if (this.held === digest) return { digest };
    this.held = digest;
    return { digest, packed };
  }

  /** The connection may have lost what it held (a failed request): send the hosts again next time. */
  forget(): void {
    this.held = undefined;
  }
}
