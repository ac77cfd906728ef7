// Several agents in one process, through the real agent code (runAgent, the
// role runner, facts): how the benchmark simulates a fleet larger than the
// machine's memory allows as separate processes. Each agent has its own id,
// keyroot and --path. Usage: bun agents.ts HOST:PORT DIR ID... Bench-only.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runAgent } from "../../lib/agent/reconnect.ts";
import { createExecutor } from "../../lib/agent/runner.ts";
import { gatherFacts } from "../../lib/facts/gather.ts";
import { overrideTiming } from "../../lib/constants.ts";
import { version } from "../../lib/version.ts";

const [master, dir, ...ids] = process.argv.slice(2);
if (!master || !dir || ids.length === 0) {
  process.stderr.write("usage: bun agents.ts HOST:PORT DIR ID...\n");
  process.exit(2);
}
overrideTiming(process.env.SALTY_TIMING);
const [host, port] = master.split(":");
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
const facts = await gatherFacts();
await Promise.all(
  ids.map((id) => {
    const path = join(dir, "sandbox", id);
    mkdirSync(path, { recursive: true });
    return runAgent({
      host: host!,
      port: Number(port),
      id,
      keyroot: join(dir, "agent-keys", id),
      signal: stop.signal,
      session: { gatherFacts: async () => facts, execute: createExecutor({ pathPrefix: path }), version: version.version },
    });
  }),
);
