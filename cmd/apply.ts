import { defineCommand } from "citty";
import { keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "apply", description: "Run roles on hosts and report rc/changed per command" },
  args: {
    verbose: { type: "boolean", alias: "v", description: "One line per role (-vv: one line per command)" },
    json: { type: "boolean", description: "Print the whole result as one JSON document" },
    "dry-run": { type: "boolean", description: "Change nothing; report what would change" },
    diff: { type: "boolean", description: "Show a unified diff of changed text files" },
    master: { type: "string", description: "A remote master (needs an accepted client key); default: the local master's socket", valueHint: "HOST[:PORT]" },
    ...keyrootArg,
    timeout: { type: "string", description: "Seconds before a role is reported failed (default 900)" },
    assignments: { type: "positional", required: false, description: "KEY=VALUE ...: roles=a,b skip=c target=GLOB|cluster:NAME, others go to the roles' context", valueHint: "KEY=VALUE" },
  },
  run() {
    notYet("apply");
  },
});
