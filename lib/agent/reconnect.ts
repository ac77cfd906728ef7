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

export interface AgentOptions {
  host: string;
  port: number;
  id: string;
  keyroot: string;
  /** The master's public key given on the command line, instead of trust on first contact. */
  masterKey?: Uint8Array;
  session: AgentSessionDeps;
  signal: AbortSignal;
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
      log(code === "E_KEY_PENDING" ? "agent.key_pending" : "agent.connect_failed", { id: opts.id, error: errorMessage(err) });
    }
    // A session that lasted a while resets the backoff; a flapping one keeps doubling it.
    if (performance.now() - started > timing.backoffMaxMs) delay = timing.backoffMinMs;
    await sleep(jitter(delay), opts.signal);
    delay = Math.min(delay * 2, timing.backoffMaxMs);
  }
}

async function session(opts: AgentOptions, identity: Identity): Promise<void> {
  const { link, socket } = await connectSecure({ host: opts.host, port: opts.port, keyroot: opts.keyroot, identity, id: opts.id, kind: "agent", signal: opts.signal });
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
