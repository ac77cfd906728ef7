import { defineCommand } from "citty";
import { filerootArg, keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "bootstrap", description: "Apply this host's roles in one process (master and agent), bootstrap=true" },
  args: {
    id: { type: "string", description: "This host's id in the inventory (default: the host name)" },
    path: { type: "string", description: "Write every destination under this prefix", valueHint: "PREFIX" },
    ...filerootArg,
    ...keyrootArg,
    verbose: { type: "boolean", alias: "v", description: "One line per role (-vv: one line per command)" },
    json: { type: "boolean", description: "Print the whole result as one JSON document" },
    "dry-run": { type: "boolean", description: "Change nothing; report what would change" },
    diff: { type: "boolean", description: "Show a unified diff of changed text files" },
    assignments: { type: "positional", required: false, description: "KEY=VALUE ... as for apply", valueHint: "KEY=VALUE" },
  },
  run() {
    notYet("bootstrap");
  },
});
