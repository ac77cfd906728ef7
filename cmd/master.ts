import { defineCommand } from "citty";
import { filerootArg, keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "master", description: "Serve the fileroot to agents and run applies" },
  args: {
    bind: { type: "string", description: "Address to listen on for agents", default: "0.0.0.0:11111", valueHint: "HOST:PORT" },
    ...keyrootArg,
    ...filerootArg,
    "auto-accept": { type: "boolean", description: "Accept every new agent key (labs and tests)" },
    "allow-server-shell": { type: "boolean", description: "Let roles run serverShell on the master" },
  },
  run() {
    notYet("master");
  },
});
