import { defineCommand } from "citty";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { verbosity } from "./_args.ts";
import { jobIdArg, printJob } from "./_jobs.ts";
import { quietClient } from "../lib/client/connect.ts";

export default defineCommand({
  meta: { name: "show", description: "One job of the history, printed as the apply printed it" },
  args: {
    ...jobIdArg,
    verbose: {
      type: "boolean",
      alias: "v",
      description: "One line per role (-vv: one line per command)",
    },
    diff: {
      type: "boolean",
      description: "Show the diffs the apply recorded (an apply run with --diff)",
    },
    json: { type: "boolean", description: "Print the job's record as one JSON document" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args, rawArgs }) {
    const rpc = await connectClient(args, quietClient);
    try {
      printJob(await rpc.call("jobs.show", { id: args.id }), {
        verbosity: verbosity(rawArgs),
        diff: !!args.diff,
        json: !!args.json,
      });
    } finally {
      rpc.close();
    }
  },
});
