import { defineCommand } from "citty";
import { keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "hosts", description: "Print the connected agents with their facts as JSON" },
  args: { ...keyrootArg, master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" } },
  run() {
    notYet("hosts");
  },
});
