// The runtime settings the long-lived commands (the agent, the master) run
// with that only the environment at exec can give (the allocator and
// JavaScriptCore read them as the process starts): cmd/main.ts starts the
// command once more, in place (execve, same PID), with the ones the user did
// not set, and the process then forgets them, so that no command it runs sees
// them. Pure: no I/O. What each saved is in docs/performance.md ("Fifth
// session", adhoc; "Sixth session", realagent; "Eighth session", the master).

/** Name → value per command; a value already in the environment wins. */
export const RUNTIME_ENV = {
  // An agent sleeps between short wake-ups (a ping, a command, a keep-alive), and at each one
  // Bun's allocator hands the thread's heaps to its scavenger thread, which walks all of them after
  // a wake-up (at most once per 100 ms): ~0.15 ms of CPU for each ping of a series, half of the
  // ping's own; and JavaScriptCore's warm-up thread faulted in a supply of heap blocks that it gave
  // up again after the next idle spell.
  agent: {
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
  },
  // A master with 10,000 agents allocates and frees a few hundred MB an apply. With Bun's defaults
  // the allocator gave freed pages back to the system 10 ms after they were freed, to fault them in
  // again at the next apply, and JavaScriptCore's warm-up thread faulted in heap blocks ahead of it:
  // the two threads took 80-120 ms of CPU per no-change apply to 1,000 of 10,000 agents, ~20 % of
  // the master's; with these settings 7-11 ms.
  master: {
    // Freed pages go back to the system after a second, not 10 ms, and the scavenger sweeps a
    // thread's heaps at most once a second: the master's RSS after a large apply still falls back
    // within a second or two of it.
    MIMALLOC_PURGE_DELAY: "1000",
    MIMALLOC_PURGE_HOLES_MIN_INTERVAL: "1000",
    BUN_JSC_useWarmUpMarkedBlocks: "0",
  },
} as const satisfies Record<string, Record<string, string>>;

export type RuntimeCommand = keyof typeof RUNTIME_ENV;

/** Lists, in the restarted process's environment, the names salty added (to forget them there). */
export const ADDED_MARK = "SALTY_RUNTIME_ENV";

/**
 * The environment to start `command` again with, or undefined when there is nothing to add: it was
 * already started so (the mark), or the user set every one of these.
 */
export function runtimeEnv(
  command: RuntimeCommand,
  env: Record<string, string | undefined>,
): Record<string, string> | undefined {
  if (env[ADDED_MARK] !== undefined) return undefined;
  const settings: Record<string, string> = RUNTIME_ENV[command];
  const added = Object.keys(settings).filter((k) => env[k] === undefined);
  if (added.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  for (const k of added) out[k] = settings[k]!;
  out[ADDED_MARK] = added.join(",");
  return out;
}

/** Every name any command may be started with. */
const KNOWN = new Set(Object.values(RUNTIME_ENV).flatMap((s) => Object.keys(s)));

/** In the restarted process: removes what runtimeEnv added (they were read at start), and the mark. */
export function forgetRuntimeEnv(env: Record<string, string | undefined>): void {
  const mark = env[ADDED_MARK];
  if (mark === undefined) return;
  for (const k of mark.split(",")) if (KNOWN.has(k)) delete env[k];
  delete env[ADDED_MARK];
}
