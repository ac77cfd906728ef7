import { userInfo } from "node:os";
import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { assignments, parseTimeout, verbosity } from "./_args.ts";
import { formatReport, type Line } from "../lib/client/format.ts";
import { JsonStream, LiveReport } from "../lib/client/live.ts";
import { printLines } from "../lib/client/print.ts";
import { ProgressLine } from "../lib/client/progress.ts";
import { resumeHint } from "../lib/client/rollout-format.ts";
import { withOutside } from "../lib/wire/outside.ts";
import { parseApplyArgs } from "../lib/inventory/args.ts";
import { SaltyError, UsageError } from "../lib/errors.ts";
import { io } from "./_io.ts";

/** `uid=0(root)`, as id(1) says it: what the job history records for the local socket. */
function whoAmI(): string {
  const uid = process.getuid?.() ?? -1;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {} // no passwd entry for this uid
  if (!name || name === "unknown") name = io().env.USER || io().env.LOGNAME;
  return name ? `uid=${uid}(${name})` : `uid=${uid}`;
}

const FOREVER = 2 ** 31 - 1; // roles have their own timeouts; the client waits for the report

/** The connection to the master lost in the middle: not one host's failure, so say what happened and what to do. */
function masterLost(err: unknown): unknown {
  if (!(err instanceof SaltyError) || err.code !== "E_CONN_LOST") return err;
  const why = /\((.*)\)$/.exec(err.message)?.[1] ?? err.message;
  return new SaltyError(
    `lost the connection to the master during the apply (${why}); roles may have run on some hosts: apply again when the master is reachable`,
    "E_CONN_LOST",
  );
}

export default defineCommand({
  meta: { name: "apply", description: "Run roles on hosts and report rc/changed per command" },
  args: {
    verbose: {
      type: "boolean",
      alias: "v",
      description: "One line per role (-vv: one line per command, as each ends)",
    },
    json: { type: "boolean", description: "Print the whole result as one JSON document" },
    "json-stream": {
      type: "boolean",
      description:
        "NDJSON events as they happen: host_start, result, role_end, host_end, apply_end (schema in the README)",
    },
    sort: {
      type: "boolean",
      description: "Print every host at the end, sorted by id, instead of each as it is done",
    },
    "dry-run": { type: "boolean", description: "Change nothing; report what would change" },
    diff: { type: "boolean", description: "Show a unified diff of changed text files" },
    master: {
      type: "string",
      description:
        "A remote master (needs an accepted client key); default: the local master's socket",
      valueHint: "HOST[:PORT]",
    },
    ...clientKeyrootArg,
    timeout: {
      type: "string",
      description: "Seconds before a role is reported failed (default 900)",
      valueHint: "SECONDS",
    },
    resume: {
      type: "string",
      description:
        "Continue the rollout JOB on the hosts it never attempted, with its own arguments",
      valueHint: "JOB",
    },
    "retry-failed": {
      type: "boolean",
      description: "With --resume: run the rollout's failed and missing hosts again too",
    },
    assignments: {
      type: "positional",
      required: false,
      description:
        "KEY=VALUE ...: roles=a,b skip=c target=EXPR batch=N|P%,... max_fail=N|P% gate=CMD gate_timeout=10s gate_retries=2 pause=30s, others go to the roles' context",
      valueHint: "KEY=VALUE...",
    },
  },
  async run({ args, rawArgs }) {
    const words = assignments(args._);
    const { target } = parseApplyArgs(words); // usage errors here, before any connection
    const timeoutMs = parseTimeout(args.timeout);
    if (args.json && args["json-stream"])
      throw new UsageError("--json and --json-stream: choose one");
    if (args["retry-failed"] && !args.resume)
      throw new UsageError("--retry-failed goes with --resume JOB");
    if (args.resume !== undefined && words.length)
      throw new UsageError(
        "--resume runs the job with its own arguments: no KEY=VALUE words with it",
      );
    const resume =
      args.resume !== undefined
        ? { resume: { job: args.resume, retryFailed: !!args["retry-failed"] } }
        : {};
    const progress = new ProgressLine(io().stderr);
    let job: string | undefined;
    const opts = { dryRun: !!args["dry-run"], ...(target ? { target: target.text } : {}) };
    // Each host's block as it is done, unless the whole report is wanted at once (--json, --sort).
    const stream = args["json-stream"] ? new JsonStream() : undefined;
    const live =
      !stream && !args.json && !args.sort ? new LiveReport(verbosity(rawArgs), opts) : undefined;
    const emit = (objs: object[]) =>
      progress.around(() => objs.forEach((o) => io().stdout.write(JSON.stringify(o) + "\n")));
    const print = (lines: Line[]) => lines.length && progress.around(() => printLines(lines, io()));
    const rpc = await connectClient(args, {
      "apply.progress": (p) => {
        if (p.job && !job && stream) emit(stream.job(p.job));
        if (p.job) job = p.job;
        if (p.total || p.waiting) progress.update(p);
        return null;
      },
      "run.event": () => null,
      "apply.event": (e) => {
        if (stream) emit(stream.event(e));
        else if (live) print(live.event(e));
        return null;
      },
    });
    // The master goes on without us and records the job as it finishes: say where its report will be.
    let stopped = false;
    const interrupted = () => {
      stopped = true;
      rpc.close("interrupted");
    };
    process.once("SIGINT", interrupted);
    try {
      const reply = await rpc
        .call(
          "apply",
          {
            args: words,
            dryRun: !!args["dry-run"],
            diff: !!args.diff,
            user: whoAmI(),
            ...resume,
            ...(timeoutMs ? { timeoutMs } : {}),
            ...(stream || live?.wantsResults
              ? { live: "roles" as const }
              : live
                ? { live: "hosts" as const }
                : {}),
            // The hosts printed live need no roles in the reply (LiveReport and JsonStream print the others).
            ...(stream || live ? { slimLive: true } : {}),
            slimOutside: true,
          },
          { timeoutMs: FOREVER, json: true },
        )
        .catch((err: unknown) => (stopped ? undefined : Promise.reject(masterLost(err))));
      // The hosts outside the target back in their places: the report as the master made it.
      const report = reply && withOutside(reply);
      if (!report) {
        progress.clear();
        io().stderr.write(
          job
            ? `interrupted: job ${job} goes on; see salty jobs show ${job}\n`
            : "interrupted: the apply goes on on the master; see salty jobs\n",
        );
        return 130;
      }
      progress.clear();
      if (stream) emit(stream.end(report, job));
      else if (args.json) io().stdout.write(JSON.stringify(report, null, 2) + "\n");
      else if (live) printLines(live.end(report), io());
      else
        printLines(
          formatReport(
            {
              ...report,
              hosts: [...report.hosts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
            },
            verbosity(rawArgs),
            opts,
          ),
          io(),
        );
      const hint = !stream && !args.json ? resumeHint(report.rollout, job) : undefined;
      if (hint) io().stderr.write(hint + "\n");
      return report.rc;
    } finally {
      process.off("SIGINT", interrupted);
      progress.clear();
      rpc.close();
    }
  },
});
