import { defineCommand } from "citty";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { verbosity } from "./_args.ts";
import { quietClient } from "../lib/client/connect.ts";
import { formatReport } from "../lib/client/format.ts";
import { jobHeader, jobReport } from "../lib/client/jobs-format.ts";
import { printLines } from "../lib/client/print.ts";

export default defineCommand({
  meta: { name: "show", description: "One job of the history, printed as the apply printed it" },
  args: {
    id: { type: "positional", required: true, description: "The job's id (salty jobs)", valueHint: "ID" },
    verbose: { type: "boolean", alias: "v", description: "One line per role (-vv: one line per command)" },
    diff: { type: "boolean", description: "Show the diffs the apply recorded (an apply run with --diff)" },
    json: { type: "boolean", description: "Print the job's record as one JSON document" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args, rawArgs }) {
    const rpc = await connectClient(args, quietClient);
    try {
      const job = await rpc.call("jobs.show", { id: args.id });
      if (args.json) {
        process.stdout.write(JSON.stringify(job, null, 2) + "\n");
        return;
      }
      process.stdout.write(jobHeader(job) + "\n");
      if (job.error) process.stderr.write(`error: ${job.error}\n`);
      if (job.status === "running") process.stdout.write(`still running: see salty jobs show ${job.id} again when it ends\n`);
      else printLines(formatReport(jobReport(job, { diff: !!args.diff }), verbosity(rawArgs), { dryRun: job.dryRun }), process);
    } finally {
      rpc.close();
    }
  },
});
