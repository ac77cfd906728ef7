// The master's guarded TCP entrance: every accepted socket must finish the
// secure handshake within timing.handshakeTimeoutMs; handshakes in progress
// are capped in all (past the cap, newcomers wait in line, nothing of theirs
// read, and take a slot first come first served; the line is bounded, its
// oldest dropped when full, and none waits past 3/4 of the handshake timeout) and per source
// address (an IPv6 /64 counts as one; those waiting count too). A slot
// is taken back from the oldest peer that has said nothing for
// timing.handshakeHelloGraceMs, else from the oldest that said hello and owes
// its proof for timing.handshakeProofGraceMs, so silent peers cannot keep
// known agents out while a storm's handshakes, half done, are not thrown
// away for newcomers; a peer that has proved its key is never evicted. And
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
  /** Connections waiting for a handshake slot now. */
  waiting(): number;
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
  /** Connections from each address unit, in progress or waiting. */
  const perAddress = new Map<string, number>();
  /** Handshakes in progress whose peer has said nothing yet, then those that said hello and owe their proof, oldest first. */
  const silent = new Map<SocketLink, Slot>();
  const proving = new Map<SocketLink, Slot>();
  /** Connections waiting for a slot, oldest first: nothing of theirs is read until they get one. */
  const waiting = new Map<SocketLink, { key: string; since: number }>();
  const hellos = new RateLimiter(limits.handshakeBurst, () => timing.handshakeRefillMs);
  let total = 0;
  let ticker: ReturnType<typeof setInterval> | undefined;
  const noisy = rateLimitedLog(10);

  const leave = (key: string) => {
    const left = (perAddress.get(key) ?? 1) - 1;
    if (left > 0) perAddress.set(key, left);
    else perAddress.delete(key);
  };

  const onLink = (raw: SocketLink) => {
    const key = addressKey(raw.remoteAddress);
    const mine = perAddress.get(key) ?? 0;
    const refuse = (why: string) => {
      raw.close(why);
      noisy("secure.over_capacity", {
        peer: raw.peer,
        pending: total,
        waiting: waiting.size,
        from_address: mine,
        reason: why,
      });
    };
    if (mine >= limits.maxPendingPerAddress)
      return refuse("too many pending handshakes from this address");
    if (!hellos.take(key)) return refuse("too many handshakes from this address lately");
    // Full: wait in line, first come first served, rather than evict a handshake half done (in a
    // reconnect storm, every newcomer evicting the oldest meant no handshake ever finished). Evictions
    // happen on the ticker only, between two rounds of I/O: a peer whose hello is already here, not yet
    // read because this round began with the newcomers, is not taken for a silent one.
    if (waiting.size === 0 && total < limits.maxPendingHandshakes) return admit(raw, key);
    // The line full, its oldest goes (nothing of it was read): refusing the newcomer instead would let a flood
    // from enough addresses keep every known agent out for as long as it lasts.
    if (waiting.size >= limits.maxWaitingHandshakes) {
      const [oldest, w] = waiting.entries().next().value!;
      waiting.delete(oldest);
      leave(w.key);
      oldest.close("evicted: too many waiting handshakes");
      noisy("secure.evicted", { peer: oldest.peer, pending: total, waiting: waiting.size });
    }
    perAddress.set(key, (perAddress.get(key) ?? 0) + 1); // not `mine`: the one dropped may have been of this address
    waiting.set(raw, { key, since: performance.now() });
    raw.onClose(() => {
      if (waiting.delete(raw)) leave(key);
    });
    ticker ??= setInterval(pump, Math.max(10, Math.min(100, timing.handshakeHelloGraceMs / 4)));
  };

  /** Start the handshake of a connection that has its slot. */
  const admit = (raw: SocketLink, key: string, counted = false) => {
    total++;
    if (!counted) perAddress.set(key, (perAddress.get(key) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      silent.delete(raw);
      proving.delete(raw);
      total--;
      leave(key);
      if (waiting.size) fill(false);
    };
    const slot = { release, since: performance.now() };
    silent.set(raw, slot);
    const onHello = () => {
      if (!silent.delete(raw)) return;
      slot.since = performance.now();
      proving.set(raw, slot);
    };
    const decide = (peer: Peer) => {
      proving.delete(raw); // it proved a key: it waits for the decision, not evictable
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
    secureServer(raw, { identity: opts.identity, decide, onHello }).then(
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

  /**
   * Make room for one: the oldest peer that has said nothing for handshakeHelloGraceMs (silent peers
   * cannot hold the entrance), else the oldest that said hello and has owed its proof for
   * handshakeProofGraceMs. A peer that has proved its key is never evicted.
   */
  const evictOne = (): boolean => {
    const now = performance.now();
    for (const [queue, grace] of [
      [silent, timing.handshakeHelloGraceMs],
      [proving, timing.handshakeProofGraceMs],
    ] as const) {
      const [oldest, slot] = queue.entries().next().value ?? [];
      if (!oldest || !slot || now - slot.since < grace) continue;
      slot.release();
      oldest.close("evicted: too many pending handshakes");
      noisy("secure.evicted", { peer: oldest.peer, pending: total, waiting: waiting.size });
      return true;
    }
    return false;
  };

  /** On the ticker: give free slots, and those of peers past their grace, to those waiting; drop those that waited too long. */
  let pumping = false;
  const pump = () => {
    if (pumping) return; // an eviction below releases a slot: this loop gives it away, not a nested one
    pumping = true;
    try {
      fill(true);
    } finally {
      pumping = false;
    }
  };
  /** `evict`: make room by evictOne too (the ticker only); else only free slots are given. */
  const fill = (evict: boolean) => {
    if (pumping && !evict) return;
    const now = performance.now();
    // Past three quarters of the handshake timeout, the peer (whose clock started at its connect, a little
    // before our accept) might give up before finishing: a slot given then could spend a signature on a
    // connection already abandoned. Refused, it backs off. Not half the timeout: in a 10,000-agent restart
    // storm that dropped ~9,300 connections the master would have served within the next seconds, and the
    // agents' backoffs after it left the master idle for seconds (docs/performance.md, "Sixth session", storm).
    const patience = (timing.handshakeTimeoutMs * 3) / 4;
    for (const [raw, w] of waiting) {
      if (now - w.since < patience) break;
      waiting.delete(raw);
      leave(w.key);
      raw.close(`no handshake slot within ${patience / 1000}s`);
      noisy("secure.over_capacity", {
        peer: raw.peer,
        pending: total,
        waiting: waiting.size,
        reason: "waited too long",
      });
    }
    while (waiting.size && (total < limits.maxPendingHandshakes || (evict && evictOne()))) {
      const [raw, w] = waiting.entries().next().value!;
      waiting.delete(raw);
      admit(raw, w.key, true);
    }
    if (!waiting.size && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };

  const server = await listenTcp(opts.host, opts.port, onLink);
  return {
    port: server.port,
    pending: () => total,
    waiting: () => waiting.size,
    close: () => {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      return server.close();
    },
  };
}

interface Slot {
  release(): void;
  /** When it took its slot, then when it said hello. */
  since: number;
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
