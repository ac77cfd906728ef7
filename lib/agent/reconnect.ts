// The agent's connection loop: connect, authenticate both ways, serve the
// master until the link dies, then reconnect with backoff (0.2 s doubling to
// 30 s, with jitter: a restarted master has its agents back within a second
// or two) — forever, until stopped. A master whose key changed is
// refused for good (that is an attack or a re-install an operator must confirm).

import { timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { connectSecure } from "../wire/connect-secure.ts";
import { loadOrCreateIdentity, pinMasterKey, type Identity } from "../crypto/keys.ts";
import { serveMaster, type AgentSessionDeps } from "./session.ts";
import { ApplyLock } from "./apply-lock.ts";
import { onePerSlot } from "./schedule.ts";

export interface AgentOptions {
  host: string;
  port: number;
  id: string;
  keyroot: string;
  /** The master's public key given on the command line, instead of trust on first contact. */
  masterKey?: Uint8Array;
  session: AgentSessionDeps;
  signal: AbortSignal;
  /** The source address to connect from (scripts/bench/agents.ts spreads a simulated fleet over loopback addresses). */
  localAddress?: string;
}

/** Codes after which trying again cannot help. */
const FATAL = new Set(["E_MASTER_KEY_CHANGED"]);

export async function runAgent(opts: AgentOptions): Promise<void> {
  const identity = await loadOrCreateIdentity(opts.keyroot, "agent");
  if (opts.masterKey) await pinMasterKey(opts.keyroot, opts.masterKey);
  let delay = timing.backoffMinMs;
  while (!opts.signal.aborted) {
    const started = performance.now();
    try {
      await session(opts, identity);
    } catch (err) {
      const code = err instanceof SaltyError ? err.code : "";
      if (FATAL.has(code)) throw err;
      log(code === "E_KEY_PENDING" ? "agent.key_pending" : "agent.connect_failed", {
        id: opts.id,
        error: errorMessage(err),
      });
    }
    // A session that lasted a while resets the backoff; a flapping one keeps doubling it.
    if (performance.now() - started > timing.backoffMaxMs) delay = timing.backoffMinMs;
    await sleep(jitter(delay), opts.signal);
    delay = Math.min(delay * 2, timing.backoffMaxMs);
  }
}

export interface MasterAddress {
  host: string;
  port: number;
}

/**
 * `salty agent m1:11111,m2:11111`: one master is runAgent itself. Several: hot (default), one
 * session to each at once, each with its own reconnect loop, sharing the role executor and the
 * host's apply lock (apply-lock.ts) and asking for a scheduled apply once per slot whichever
 * session's timer fires first; `failover`, one session at a time, the next master when it is lost.
 * A fatal error from any master (its key is not the pinned one) stops them all.
 */
export async function runAgents(
  opts: Omit<AgentOptions, "host" | "port"> & { masters: MasterAddress[]; failover?: boolean },
): Promise<void> {
  const { masters, failover, ...rest } = opts;
  if (masters.length === 1) return runAgent({ ...rest, ...masters[0]! });
  // Once, before the sessions start: two loops must not both create a fresh keyroot's identity.
  const identity = await loadOrCreateIdentity(opts.keyroot, "agent");
  if (opts.masterKey) await pinMasterKey(opts.keyroot, opts.masterKey);
  if (failover) return runFailover(rest, masters, identity);
  const lock = new ApplyLock();
  const stopAll = new AbortController();
  const signal = AbortSignal.any([opts.signal, stopAll.signal]);
  const schedule = opts.session.schedule
    ? { ...opts.session.schedule, claim: onePerSlot() }
    : undefined;
  await Promise.all(
    masters.map((m) =>
      runAgent({
        ...rest,
        ...m,
        signal,
        session: {
          ...rest.session,
          applyLock: { lock, master: `${m.host}:${m.port}` },
          ...(schedule ? { schedule } : {}),
        },
      }).catch((err) => {
        stopAll.abort();
        throw err;
      }),
    ),
  );
}

/** One master at a time, in the order given; a full round of failed attempts backs off as runAgent does. */
async function runFailover(
  opts: Omit<AgentOptions, "host" | "port">,
  masters: MasterAddress[],
  identity: Identity,
): Promise<void> {
  let delay = timing.backoffMinMs;
  let failed = 0;
  for (let i = 0; !opts.signal.aborted; i = (i + 1) % masters.length) {
    const m = masters[i]!;
    const started = performance.now();
    try {
      await session({ ...opts, ...m }, identity);
    } catch (err) {
      const code = err instanceof SaltyError ? err.code : "";
      if (FATAL.has(code)) throw err;
      log(code === "E_KEY_PENDING" ? "agent.key_pending" : "agent.connect_failed", {
        id: opts.id,
        master: `${m.host}:${m.port}`,
        error: errorMessage(err),
      });
    }
    if (performance.now() - started > timing.backoffMaxMs) {
      failed = 0;
      delay = timing.backoffMinMs;
    }
    if (opts.signal.aborted) break;
    log("agent.failover", {
      id: opts.id,
      from: `${m.host}:${m.port}`,
      to: `${masters[(i + 1) % masters.length]!.host}:${masters[(i + 1) % masters.length]!.port}`,
    });
    if (++failed % masters.length !== 0) continue; // the next master at once
    await sleep(jitter(delay), opts.signal);
    delay = Math.min(delay * 2, timing.backoffMaxMs);
  }
}

async function session(opts: AgentOptions, identity: Identity): Promise<void> {
  const { link, socket } = await connectSecure({
    host: opts.host,
    port: opts.port,
    keyroot: opts.keyroot,
    identity,
    id: opts.id,
    kind: "agent",
    signal: opts.signal,
    localAddress: opts.localAddress,
  });
  const stop = () => socket.close("agent stopping");
  opts.signal.addEventListener("abort", stop);
  try {
    log("agent.session", { id: opts.id, master: `${opts.host}:${opts.port}` });
    const reason = await serveMaster(link, opts.session);
    log("agent.session_closed", { id: opts.id, reason });
  } finally {
    opts.signal.removeEventListener("abort", stop);
    socket.close("session over");
  }
}

/** ±25 %, so a fleet that lost its master does not come back in lockstep. */
function jitter(ms: number): number {
  return Math.round(ms * (0.75 + Math.random() * 0.5));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
