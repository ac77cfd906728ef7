import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { quietClient } from "../lib/client/connect.ts";
import { jobsTable } from "../lib/client/jobs-format.ts";
import { parseDuration } from "../lib/history/job-id.ts";
import { UsageError } from "../lib/errors.ts";
import type { JobFilter } from "../lib/history/types.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: { name: "jobs", description: "The master's job history: every apply, newest first" },
  args: {
    host: { type: "string", description: "Only jobs that ran on this host", valueHint: "HOST" },
    failed: { type: "boolean", description: "Only jobs that failed" },
    kind: {
      type: "string",
      description: "apply, run, deploy, bootstrap, scheduled or pull",
      valueHint: "KIND",
    },
    since: {
      type: "string",
      description: "Only jobs started within this long, e.g. 90m, 12h, 2d, 1w",
      valueHint: "AGE",
    },
    limit: { type: "string", description: "At most this many jobs (default 20)", valueHint: "N" },
    json: { type: "boolean", description: "Print the jobs as one JSON document" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  subCommands: {
    show: () => import("./jobs-show.ts").then((m) => m.default),
    follow: () => import("./jobs-follow.ts").then((m) => m.default),
  },
  async run({ args }) {
    const filter: JobFilter = {};
    if (args.host) filter.host = args.host;
    if (args.failed) filter.failed = true;
    if (args.kind) filter.kind = args.kind as JobFilter["kind"];
    if (args.since) filter.since = Date.now() - parseDuration(args.since, "--since");
    if (args.limit !== undefined) {
      if (!/^[1-9][0-9]*$/.test(args.limit))
        throw new UsageError(
          `--limit must be a whole number above 0, not ${JSON.stringify(args.limit)}`,
        );
      filter.limit = Number(args.limit);
    }
    const rpc = await connectClient(args, quietClient);
    try {
      const jobs = await rpc.call("jobs.list", filter, { json: true });
      if (args.json) io().stdout.write(JSON.stringify(jobs, null, 2) + "\n");
      else if (jobs.length === 0) io().stderr.write("no jobs match\n");
      else io().stdout.write(jobsTable(jobs).join("\n") + "\n");
    } finally {
      rpc.close();
    }
  },
});
