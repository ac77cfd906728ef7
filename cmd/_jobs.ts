// What `salty jobs show` and `salty jobs follow` share: a job printed as the apply printed it.

import { formatReport } from "../lib/client/format.ts";
import { jobHeader, jobReport } from "../lib/client/jobs-format.ts";
import { resumeHint } from "../lib/client/rollout-format.ts";
import { printLines } from "../lib/client/print.ts";
import type { JobRecord } from "../lib/history/types.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { io } from "./_io.ts";

/** The arguments of both: which job, how much of it, and which master. */
export const jobPrintArgs = {
  id: {
    type: "positional",
    required: true,
    description: "The job's id (salty jobs)",
    valueHint: "ID",
  },
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
} as const;

export function printJob(
  job: JobRecord,
  opts: { verbosity: number; diff: boolean; json: boolean },
): void {
  if (opts.json) {
    io().stdout.write(JSON.stringify(job, null, 2) + "\n");
    return;
  }
  io().stdout.write(jobHeader(job) + "\n");
  if (job.error) io().stderr.write(`error: ${job.error}\n`);
  if (job.status === "running")
    io().stdout.write(`still running: see salty jobs show ${job.id} again when it ends\n`);
  else {
    printLines(
      formatReport(jobReport(job, { diff: opts.diff }), opts.verbosity, {
        dryRun: job.dryRun,
        ...(job.target ? { target: job.target } : {}),
      }),
      io(),
    );
    const hint = resumeHint(job.rollout, job.id);
    if (hint) io().stderr.write(hint + "\n");
  }
}
