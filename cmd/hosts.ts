import { defineCommand } from "citty";
import { keyrootArg } from "./_cli.ts";
import { connectControl, quietClient } from "../lib/client/connect.ts";

export default defineCommand({
  meta: { name: "hosts", description: "Print the connected agents with their facts as JSON" },
  args: { ...keyrootArg, master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" } },
  async run({ args }) {
    const rpc = await connectControl({ keyroot: args.keyroot, master: args.master }, quietClient);
    try {
      process.stdout.write(JSON.stringify(await rpc.call("hosts", null), null, 2) + "\n");
    } finally {
      rpc.close();
    }
  },
});
