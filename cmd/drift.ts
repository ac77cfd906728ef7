import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { assignments } from "./_args.ts";
import { quietClient } from "../lib/client/connect.ts";
import { driftLines, driftOf, driftStatus } from "../lib/client/drift-format.ts";
import { printLines } from "../lib/client/print.ts";
import { parseApplyArgs } from "../lib/inventory/args.ts";
import { io } from "./_io.ts";

const FOREVER = 2 ** 31 - 1; // roles have their own timeouts

export default defineCommand({
  meta: {
    name: "drift",
    description:
      "A dry run: the hosts whose state differs from what their roles make it, and what differs",
  },
  args: {
    verbose: { type: "boolean", alias: "v", description: "List the hosts in place too" },
    diff: { type: "boolean", description: "Show a unified diff of each differing text file" },
    json: { type: "boolean", description: "Print host → differing commands as one JSON document" },
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
    ...clientKeyrootArg,
    words: {
      type: "positional",
      required: false,
      description: "A host glob or cluster:NAME (as target=), and KEY=VALUE arguments as for apply",
      valueHint: "TARGET|KEY=VALUE...",
    },
  },
  async run({ args }) {
    // A bare word is the target; the rest are apply arguments (version=... changes what templates render).
    const words = assignments(args._).map((w) => (w.includes("=") ? w : `target=${w}`));
    parseApplyArgs(words);
    const rpc = await connectClient(args, quietClient);
    try {
      const report = await rpc.call(
        "apply",
        { args: words, dryRun: true, diff: !!args.diff },
        { timeoutMs: FOREVER, json: true },
      );
      if (args.json) io().stdout.write(JSON.stringify(driftOf(report), null, 2) + "\n");
      else printLines(driftLines(report, { verbose: !!args.verbose, diff: !!args.diff }), io());
      return driftStatus(report);
    } finally {
      rpc.close();
    }
  },
});
