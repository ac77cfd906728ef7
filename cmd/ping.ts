import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { withoutMethod } from "./_adhoc.ts";
import { parseTimeout } from "./_args.ts";
import { quietClient } from "../lib/client/connect.ts";
import { pingLines } from "../lib/client/adhoc-format.ts";
import { printLines } from "../lib/client/print.ts";
import { parseTarget } from "../lib/inventory/target.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: {
    name: "ping",
    description: "Ask every targeted agent over its live connection; exit 0 only when all answered",
  },
  args: {
    target: {
      type: "positional",
      required: false,
      description:
        "Which hosts (default: all): a glob, cluster:NAME, role:NAME, fact:PATH=GLOB, ... (see README)",
      valueHint: "TARGET",
    },
    timeout: {
      type: "string",
      description: "Seconds to wait for each answer (default 2)",
      valueHint: "SECONDS",
    },
    json: { type: "boolean", description: "Print the answers as one JSON document" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args }) {
    const target = args.target as string | undefined;
    if (target !== undefined) parseTarget(target); // usage errors before any connection
    const timeoutMs = parseTimeout(args.timeout);
    const rpc = await connectClient(args, quietClient);
    try {
      const reply = await rpc
        .call(
          "agents.ping",
          { ...(target !== undefined ? { target } : {}), ...(timeoutMs ? { timeoutMs } : {}) },
          { timeoutMs: (timeoutMs ?? 2000) + 60_000, json: true },
        )
        .catch(withoutMethod("agents.ping"));
      if (args.json) io().stdout.write(JSON.stringify(reply, null, 2) + "\n");
      else printLines(pingLines(reply, Date.now()), io());
      return reply.hosts.every((h) => h.status === "ok") ? 0 : 1;
    } finally {
      rpc.close();
    }
  },
});
