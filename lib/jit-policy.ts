// How eagerly JavaScriptCore optimizes salty's code. Most of it runs a few
// times and never again: a client command lives for milliseconds, and an agent runs
// each piece of its code a few times per apply, then idles for minutes. The
// optimizing tiers (DFG, FTL) would compile such code on JIT threads that cost
// more CPU than they save, and bring many MB of the compilers' own code into
// memory. So the executable starts with the tier-up thresholds multiplied by
// COLD_CODE (scripts/_compile.ts, --compile-jit-policy) and the agent's role
// worker a quarter of that (below); loops that really run hot (a 10,000-entry diff, the
// handshake's arithmetic) still get optimized. Only the master, which serves
// many agents and whose code does run hot, returns to the normal policy.
// What it saves (fan-out applies, agent CPU and memory) is measured in
// docs/performance.md.

/** Multiplies the tier-up thresholds; 1 is JavaScriptCore's normal policy. */
export const COLD_CODE_JIT_POLICY = 20;

/** For the calling thread's VM (a worker has its own). */
export function useColdCodeJitPolicy(): void {
  Bun.unsafe.setJITPolicy(COLD_CODE_JIT_POLICY);
}

/**
 * The agent's role worker: its code (unpacking a request, the operators, templates) runs tens to
 * hundreds of times an apply, enough to repay the baseline and DFG tiers at a quarter of the
 * cold-code thresholds now that the agent runs without FTL (runtime-env.ts), whose compiles
 * made lower thresholds cost more than they saved. W1 no-change applies: the worker ~9 → ~7 ms of
 * CPU, the JIT threads unchanged; an apply that starts a new worker (after timing.workerIdleMs) no
 * dearer; 1× made that one ~30 ms dearer (docs/performance.md, "Sixth session", realagent).
 */
export const ROLE_WORKER_JIT_POLICY = 5;

export function useRoleWorkerJitPolicy(): void {
  Bun.unsafe.setJITPolicy(ROLE_WORKER_JIT_POLICY);
}

/**
 * A client command's request to a master and its reply: everything runs about once, and the baseline
 * JIT compiling the reply's decoding loops cost more than it saved (W1 `apply --json`: ~2 ms of
 * its CPU, docs/performance.md), so its thresholds are five times the cold-code ones.
 */
export const RUN_ONCE_JIT_POLICY = 100;

export function useRunOnceJitPolicy(): void {
  Bun.unsafe.setJITPolicy(RUN_ONCE_JIT_POLICY);
}

/** The master: back to the normal policy. */
export function useNormalJitPolicy(): void {
  Bun.unsafe.setJITPolicy(1);
}
