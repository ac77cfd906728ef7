import { defineCommand } from "./_command.ts";
import { connectClient } from "./_connect.ts";
import { verbosity } from "./_args.ts";
import { jobPrintArgs, printJob } from "./_jobs.ts";
import { ProgressLine } from "../lib/client/progress.ts";
import { io } from "./_io.ts";

const FOREVER = 2 ** 31 - 1; // the job's roles have their own timeouts

export default defineCommand({
  meta: {
    name: "follow",
    description: "Attach to a running job: its progress, then its report as the apply prints it",
  },
  args: jobPrintArgs,
  async run({ args, rawArgs }) {
    const progress = new ProgressLine(io().stderr);
    const rpc = await connectClient(args, {
      "apply.progress": (p) => (p.total ? progress.update(p) : undefined, null),
      "run.event": () => null,
      "apply.event": () => null,
    });
    try {
      const job = await rpc.call(
        "jobs.follow",
        { id: args.id },
        { timeoutMs: FOREVER, json: true },
      );
      progress.clear();
      printJob(job, { verbosity: verbosity(rawArgs), diff: !!args.diff, json: !!args.json });
      return job.status === "failed" ? 1 : 0; // as the apply it follows
    } finally {
      progress.clear();
      rpc.close();
    }
  },
});
