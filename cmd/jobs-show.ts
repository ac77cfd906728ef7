import { defineCommand } from "./_command.ts";
import { connectClient } from "./_connect.ts";
import { verbosity } from "./_args.ts";
import { jobPrintArgs, printJob } from "./_jobs.ts";
import { quietClient } from "../lib/client/connect.ts";

export default defineCommand({
  meta: { name: "show", description: "One job of the history, printed as the apply printed it" },
  args: jobPrintArgs,
  async run({ args, rawArgs }) {
    const rpc = await connectClient(args, quietClient);
    try {
      printJob(await rpc.call("jobs.show", { id: args.id }, { json: true }), {
        verbosity: verbosity(rawArgs),
        diff: !!args.diff,
        json: !!args.json,
      });
    } finally {
      rpc.close();
    }
  },
});
