// How eagerly JavaScriptCore optimizes the agent's code. An agent runs each
// piece of its code a few times per apply and then idles for minutes, so the
// optimizing tiers (DFG, FTL) would compile code that hardly runs again, on JIT
// threads whose CPU outweighs what they save, and would bring many MB of the
// compilers' own code into memory. Twenty times the usual tier-up thresholds
// keep such code in the interpreter and the baseline JIT; loops that really run
// hot (a 10,000-entry diff, the handshake's arithmetic) still get optimized.
// Measured (docs/performance.md): 200 agents' no-change apply 423 -> 348 ms
// (agent CPU 680 -> 550 ms), first apply 3.53 -> 3.07 s, agent idle RSS 63 ->
// 60 MB; connect time unchanged. The master keeps the normal policy: it serves
// many agents and its code does run hot.

/** Multiplies the tier-up thresholds; 1 is JavaScriptCore's normal policy. */
export const AGENT_JIT_POLICY = 20;

/** For the calling thread's VM: the agent's main thread and its role worker each call it. */
export function useAgentJitPolicy(): void {
  Bun.unsafe.setJITPolicy(AGENT_JIT_POLICY);
}
