import { userInfo } from "node:os";
import { defineCommand } from "citty";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { assignments, parseTimeout, verbosity } from "./_args.ts";
import { formatReport } from "../lib/client/format.ts";
import { printLines } from "../lib/client/print.ts";
import { ProgressLine } from "../lib/client/progress.ts";
import { parseApplyArgs } from "../lib/inventory/args.ts";
import { targetText } from "../lib/inventory/resolve.ts";
import { SaltyError } from "../lib/errors.ts";

/** `uid=0(root)`, as id(1) says it: what the job history records for the local socket. */
function whoAmI(): string {
  const uid = process.getuid?.() ?? -1;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {} // no passwd entry for this uid
  if (!name || name === "unknown") name = process.env.USER || process.env.LOGNAME;
  return name ? `uid=${uid}(${name})` : `uid=${uid}`;
}

const FOREVER = 2 ** 31 - 1; // roles have their own timeouts; the client waits for the report

/** The connection to the master lost in the middle: not one host's failure, so say what happened and what to do. */
function masterLost(err: unknown): unknown {
  if (!(err instanceof SaltyError) || err.code !== "E_CONN_LOST") return err;
  const why = /\((.*)\)$/.exec(err.message)?.[1] ?? err.message;
  return new SaltyError(`lost the connection to the master during the apply (${why}); roles may have run on some hosts: apply again when the master is reachable`, "E_CONN_LOST");
}

export default defineCommand({
  meta: { name: "apply", description: "Run roles on hosts and report rc/changed per command" },
  args: {
    verbose: { type: "boolean", alias: "v", description: "One line per role (-vv: one line per command)" },
    json: { type: "boolean", description: "Print the whole result as one JSON document" },
    "dry-run": { type: "boolean", description: "Change nothing; report what would change" },
    diff: { type: "boolean", description: "Show a unified diff of changed text files" },
    master: { type: "string", description: "A remote master (needs an accepted client key); default: the local master's socket", valueHint: "HOST[:PORT]" },
    ...clientKeyrootArg,
    timeout: { type: "string", description: "Seconds before a role is reported failed (default 900)", valueHint: "SECONDS" },
    assignments: { type: "positional", required: false, description: "KEY=VALUE ...: roles=a,b skip=c target=GLOB|cluster:NAME, others go to the roles' context", valueHint: "KEY=VALUE" },
  },
  async run({ args, rawArgs }) {
    const words = assignments(args._);
    const { target } = parseApplyArgs(words); // usage errors here, before any connection
    const timeoutMs = parseTimeout(args.timeout);
    const progress = new ProgressLine(process.stderr);
    let job: string | undefined;
    const rpc = await connectClient(args, {
      "apply.progress": (p) => {
        if (p.job) job = p.job;
        if (p.total || p.waiting) progress.update(p);
        return null;
      },
      "run.event": () => null,
    });
    // The master goes on without us and records the job as it finishes: say where its report will be.
    let stopped = false;
    const interrupted = () => {
      stopped = true;
      rpc.close("interrupted");
    };
    process.once("SIGINT", interrupted);
    try {
      const report = await rpc
        .call("apply", { args: words, dryRun: !!args["dry-run"], diff: !!args.diff, user: whoAmI(), ...(timeoutMs ? { timeoutMs } : {}) }, { timeoutMs: FOREVER })
        .catch((err: unknown) => (stopped ? undefined : Promise.reject(masterLost(err))));
      if (!report) {
        progress.clear();
        process.stderr.write(job ? `interrupted: job ${job} goes on; see salty jobs show ${job}\n` : "interrupted: the apply goes on on the master; see salty jobs\n");
        return 130;
      }
      progress.clear();
      if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      else printLines(formatReport(report, verbosity(rawArgs), { dryRun: !!args["dry-run"], ...(target ? { target: targetText(target) } : {}) }), process);
      return report.rc;
    } finally {
      process.off("SIGINT", interrupted);
      progress.clear();
      rpc.close();
    }
  },
});
