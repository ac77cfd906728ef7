import { hostname } from "node:os";
import { defineCommand } from "./_command.ts";
import { filerootArg, keyrootArg } from "./_cli.ts";
import { assignments, parseTimeout, verbosity } from "./_args.ts";
import { UsageError } from "../lib/errors.ts";
import { bootstrap } from "../lib/bootstrap.ts";
import { validateId } from "../lib/crypto/keys.ts";
import { parseApplyArgs } from "../lib/inventory/args.ts";
import { formatReport } from "../lib/client/format.ts";
import { printLines } from "../lib/client/print.ts";
import { setLogSink } from "../lib/log.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: {
    name: "bootstrap",
    description: "Apply this host's roles in one process (master and agent), bootstrap=true",
  },
  args: {
    id: { type: "string", description: "This host's id in the inventory (default: the host name)" },
    path: {
      type: "string",
      description: "Write every destination under this prefix",
      valueHint: "PREFIX",
    },
    ...filerootArg,
    ...keyrootArg,
    verbose: {
      type: "boolean",
      alias: "v",
      description: "One line per role (-vv: one line per command)",
    },
    json: { type: "boolean", description: "Print the whole result as one JSON document" },
    "dry-run": { type: "boolean", description: "Change nothing; report what would change" },
    diff: { type: "boolean", description: "Show a unified diff of changed text files" },
    timeout: {
      type: "string",
      description: "Seconds before a role is reported failed (default 900)",
      valueHint: "SECONDS",
    },
    assignments: {
      type: "positional",
      required: false,
      description: "KEY=VALUE ... as for apply",
      valueHint: "KEY=VALUE...",
    },
  },
  async run({ args, rawArgs }) {
    const words = assignments(args._);
    parseApplyArgs(words);
    const timeoutMs = parseTimeout(args.timeout);
    if (args.path !== undefined && !args.path.startsWith("/"))
      throw new UsageError("--path must be an absolute directory");
    // The in-process master and agent would log their own connection: noise here (failures are in the report).
    setLogSink(() => {});
    const report = await bootstrap({
      id: validateId(args.id ?? hostname()),
      fileroot: args.fileroot,
      keyroot: args.keyroot,
      pathPrefix: args.path ?? "",
      args: words,
      dryRun: !!args["dry-run"],
      diff: !!args.diff,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    if (args.json) io().stdout.write(JSON.stringify(report, null, 2) + "\n");
    else printLines(formatReport(report, verbosity(rawArgs), { dryRun: !!args["dry-run"] }), io());
    return report.rc;
  },
});
