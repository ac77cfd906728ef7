// The runtime settings an agent runs with that only the environment at exec
// can give (the allocator and JavaScriptCore read them as the process starts):
// cmd/main.ts starts the agent once more, in place (execve, same PID), with
// the ones the user did not set, and the agent then forgets them, so that no
// command it runs sees them. Pure: no I/O.
//
// An agent sleeps between short wake-ups (a ping, a command, a keep-alive),
// and at each one Bun's allocator hands the thread's heaps to its scavenger
// thread, which walks all of them after a wake-up (at most once per 100 ms):
// ~0.15 ms of CPU for each ping of a series, half of the ping's own;
// and JavaScriptCore's warm-up thread faulted in a supply of heap blocks that
// it gave up again after the next idle spell. What each saved is in
// docs/performance.md ("Fifth session", adhoc).

/** Name → value; a value already in the environment wins. */
export const AGENT_RUNTIME_ENV: Readonly<Record<string, string>> = {
  // The idle sweep of a thread's heaps at most once a second (Bun's default: every 100 ms), so
  // commands in a row do not pay one each. Not longer: what the idle garbage collection frees
  // (timing.idleGcMs after the last role) must still go back to the system at once.
  MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "1000",
  // No warm-up thread faulting in heap blocks ahead of an agent that allocates a few at a time.
  BUN_JSC_useWarmUpMarkedBlocks: "0",
  // No FTL, JavaScriptCore's top tier: with it the JIT threads compiled ~1.5 ms of CPU every W1
  // no-change apply, apply after apply (code an agent runs a few hundred times an apply keeps
  // reaching FTL's thresholds), for no gain on either thread that runs it; the DFG still optimizes
  // what runs hot (docs/performance.md, "Sixth session", realagent).
  BUN_JSC_useFTLJIT: "0",
};

/** Lists, in the restarted agent's environment, the names salty added (to forget them there). */
export const ADDED_MARK = "SALTY_AGENT_RUNTIME_ENV";

/**
 * The environment to start the agent again with, or undefined when there is nothing to add: it was
 * already started so (the mark), or the user set every one of these.
 */
export function runtimeEnv(
  env: Record<string, string | undefined>,
): Record<string, string> | undefined {
  if (env[ADDED_MARK] !== undefined) return undefined;
  const added = Object.keys(AGENT_RUNTIME_ENV).filter((k) => env[k] === undefined);
  if (added.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const k of added) out[k] = AGENT_RUNTIME_ENV[k]!;
  out[ADDED_MARK] = added.join(",");
  return out;
}

/** In the restarted agent: removes what runtimeEnv added (they were read at start), and the mark. */
export function forgetRuntimeEnv(env: Record<string, string | undefined>): void {
  const mark = env[ADDED_MARK];
  if (mark === undefined) return;
  for (const k of mark.split(",")) if (Object.hasOwn(AGENT_RUNTIME_ENV, k)) delete env[k];
  delete env[ADDED_MARK];
}
