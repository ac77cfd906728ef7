// The master's guarded TCP entrance: every accepted socket must finish the
// secure handshake within timing.handshakeTimeoutMs; handshakes in progress
// are capped per source address (an IPv6 /64 counts as one) and in all, where
// the oldest peer that has proved no key yet makes room for a newcomer; and
// each address may start limits.handshakeBurst handshakes at once, then one
// per timing.handshakeRefillMs (each costs the master a signature); a
// handshake that proves a key accepted before gives its token back, so a
// fleet behind one address (a NAT, a restart storm) reconnects as fast as the
// pending caps let it while strangers stay at the rate. So
// unauthenticated peers cannot exhaust sockets, memory or CPU, nor keep
// known agents out. Refusals and failures are logged at a bounded rate (id,
// address, reason, fingerprint; never a key).
// It does not know what a session does: onSession gets the sealed link.

import { limits, timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { fingerprint, type Identity } from "../crypto/keys.ts";
import { RefusedError, secureServer, type Decision, type Peer, type SealedLink } from "./secure.ts";
import { listenTcp, type SocketLink } from "./tcp.ts";
import { RateLimiter } from "./rate.ts";

/** Where a peer connected from: its address, and the unit per-address limits count (addressKey). */
export interface Origin {
  address: string;
  unit: string;
}

export interface SecureListenOptions {
  host: string;
  port: number;
  identity: Identity;
  decide(peer: Peer, from: Origin): Decision | Promise<Decision>;
  /** An authenticated and accepted peer. A throw here closes that session. */
  onSession(link: SealedLink, peer: Peer): void;
}

export interface SecureListener {
  port: number;
  /** Handshakes in progress now. */
  pending(): number;
  /** Stop listening and drop every connection, established or not. */
  close(): Promise<void>;
}

/** The unit per-address caps count: an IPv4 address, or the /64 of an IPv6 one. */
export function addressKey(addr: string): string {
  if (!addr.includes(":")) return addr;
  const [head = "", tail] = addr.replace(/%.*$/, "").split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? h
      : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return (
    groups
      .slice(0, 4)
      .map((g) => parseInt(g || "0", 16).toString(16))
      .join(":") + "::/64"
  );
}

/** At most a few lines per second per event: a flood of bad peers must not flood the log. */
function rateLimitedLog(
  perSecond: number,
): (event: string, fields: Record<string, unknown>) => void {
  const state = new Map<string, { second: number; count: number; suppressed: number }>();
  return (event, fields) => {
    const second = Math.floor(Date.now() / 1000);
    const s = state.get(event) ?? { second, count: 0, suppressed: 0 };
    if (s.second !== second) Object.assign(s, { second, count: 0 });
    state.set(event, s);
    if (s.count++ >= perSecond) return void s.suppressed++;
    log(event, { ...fields, suppressed: s.suppressed || undefined });
    s.suppressed = 0;
  };
}

export async function listenSecure(opts: SecureListenOptions): Promise<SecureListener> {
  const perAddress = new Map<string, number>();
  /** Handshakes whose peer has proved no key yet, oldest first: at the cap, the oldest makes room. */
  const strangers = new Map<SocketLink, () => void>();
  const hellos = new RateLimiter(limits.handshakeBurst, () => timing.handshakeRefillMs);
  let total = 0;
  const noisy = rateLimitedLog(10);

  const onLink = (raw: SocketLink) => {
    const key = addressKey(raw.remoteAddress);
    const mine = perAddress.get(key) ?? 0;
    const refuse = (why: string) => {
      raw.close(why);
      noisy("secure.over_capacity", {
        peer: raw.peer,
        pending: total,
        from_address: mine,
        reason: why,
      });
    };
    if (mine >= limits.maxPendingPerAddress)
      return refuse("too many pending handshakes from this address");
    if (!hellos.take(key)) return refuse("too many handshakes from this address lately");
    // Full: the oldest stranger goes, rather than this newcomer. Silent peers then hold a slot for a
    // while, never all of them for good, and a peer that has proved its key is never evicted.
    if (total >= limits.maxPendingHandshakes && !evictOldest())
      return refuse("too many pending handshakes");
    total++;
    perAddress.set(key, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      strangers.delete(raw);
      total--;
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left > 0) perAddress.set(key, left);
      else perAddress.delete(key);
    };
    strangers.set(raw, release);
    const decide = (peer: Peer) => {
      strangers.delete(raw); // it proved a key: it waits for the decision, not evictable
      return decideLogged(
        opts.decide,
        peer,
        raw.peer,
        { address: raw.remoteAddress, unit: key },
        noisy,
      ).then((d) => {
        if (d.accept && d.known) hellos.give(key);
        return d;
      });
    };
    secureServer(raw, { identity: opts.identity, decide }).then(
      ({ link, peer }) => {
        release();
        startSession(opts.onSession, link, peer);
      },
      (err) => {
        release();
        if (!(err instanceof RefusedError))
          noisy("secure.handshake_failed", { peer: raw.peer, error: errorMessage(err) });
      },
    );
  };

  const evictOldest = (): boolean => {
    const [oldest, release] = strangers.entries().next().value ?? [];
    if (!oldest || !release) return false;
    release();
    oldest.close("evicted: too many pending handshakes");
    noisy("secure.evicted", { peer: oldest.peer, pending: total });
    return true;
  };

  const server = await listenTcp(opts.host, opts.port, onLink);
  return { port: server.port, pending: () => total, close: server.close };
}

/** Refusals go through the rate-limited log: strangers with fresh keys cost a handshake each, and must not flood it. */
async function decideLogged(
  decide: SecureListenOptions["decide"],
  peer: Peer,
  address: string,
  from: Origin,
  noisy: ReturnType<typeof rateLimitedLog>,
): Promise<Decision> {
  const d = await decide(peer, from);
  if (!d.accept)
    noisy("secure.refused", {
      id: peer.id,
      kind: peer.kind,
      peer: address,
      code: d.code,
      reason: d.reason,
      fingerprint: fingerprint(peer.publicKey),
    });
  return d;
}

function startSession(
  onSession: SecureListenOptions["onSession"],
  link: SealedLink,
  peer: Peer,
): void {
  log("secure.session", {
    id: peer.id,
    kind: peer.kind,
    peer: link.peer,
    fingerprint: fingerprint(peer.publicKey),
  });
  try {
    onSession(link, peer);
  } catch (err) {
    log("secure.session_error", { id: peer.id, peer: link.peer, error: errorMessage(err) });
    link.close(`internal error: ${errorMessage(err)}`);
  }
}
