// Several agents in one process, through the real agent code (runAgent, the
// role runner, facts): how the benchmark simulates a fleet larger than the
// machine's memory allows as separate processes. Each agent has its own id,
// keyroot and --path. Usage: bun agents.ts HOST:PORT DIR ID[@SOURCE]...
// (SOURCE: the local address the agent dials from, e.g. 127.0.3.7: W4 puts
// its fleet behind many loopback addresses, as real fleets are). With
// --ids-from FILE the ID[@SOURCE] tokens are read from FILE, one a line.
// Prints "agents: N started" once every agent's key is loaded. Bench-only.

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runAgent } from "../../lib/agent/reconnect.ts";
import { createExecutor } from "../../lib/agent/runner.ts";
import { RequestDecoder, type PackedRoleRequest } from "../../lib/agent/role-request.ts";
import type { RoleCaps } from "../../lib/agent/session.ts";
import { gatherFacts } from "../../lib/facts/gather.ts";
import { overrideTiming } from "../../lib/constants.ts";
import { version } from "../../lib/version.ts";

const argv = process.argv.slice(2);
const [master, dir, ...rest] = argv;
const tokens =
  rest[0] === "--ids-from" ? readFileSync(rest[1]!, "utf8").split("\n").filter(Boolean) : rest;
if (!master || !dir || tokens.length === 0) {
  process.stderr.write("usage: bun agents.ts HOST:PORT DIR ID[@SOURCE]... | --ids-from FILE\n");
  process.exit(2);
}
overrideTiming(process.env.SALTY_TIMING);
const [host, port] = master.split(":");
// One signal an agent, as each real agent has its own: thousands of listeners on one signal would make
// every reconnect's addEventListener and removeEventListener walk them all (~6 % of a storm's CPU at 1,000).
const stops: AbortController[] = [];
process.on("SIGTERM", () => {
  for (const s of stops) s.abort();
});
const facts = await gatherFacts();

// W4_CANNED=1 (w4-apply.ts --canned): each role runs for real once per agent, then answers with
// that run's report without running again, so that the agents' processes cost the master's cores
// almost nothing and the master's own cost per host shows (what a real fleet, each agent on its
// own machine, loads it with). A measuring aid only: the results are the first run's.
const canned = process.env.W4_CANNED === "1";
type Run = ReturnType<typeof createExecutor>;
function cannedRuns(run: Run): Run {
  const first = new Map<string, Awaited<ReturnType<Run>>>();
  return async (req, caps) => {
    const hit = first.get(req.role);
    if (hit) return hit;
    const report = await run(req, caps);
    if (report.rc === 0) first.set(req.role, report);
    return report;
  };
}
const running = tokens.map((token) => {
  const [id, source] = token.split("@") as [string, string | undefined];
  const path = join(dir, "sandbox", id);
  mkdirSync(path, { recursive: true });
  const stop = new AbortController();
  stops.push(stop);
  // Requests as the bytes they came in, decoded as a real agent's role worker decodes them (its own
  // RequestDecoder, keeping the large values by their bytes): the worker thread's hop alone is left out.
  const real = createExecutor({ pathPrefix: path });
  const run = canned ? cannedRuns(real) : real;
  const requests = new RequestDecoder();
  const execute = Object.assign(run, {
    packed: (req: PackedRoleRequest, caps: RoleCaps) => run(requests.unpack(req), caps),
  });
  return runAgent({
    host: host!,
    port: Number(port),
    id,
    keyroot: join(dir, "agent-keys", id),
    signal: stop.signal,
    ...(source ? { localAddress: source } : {}),
    session: {
      gatherFacts: async () => facts,
      execute,
      version: version.version,
    },
  });
});
process.stderr.write(`agents: ${tokens.length} started\n`);
await Promise.all(running);
