import { defineCommand } from "citty";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { quietClient } from "../lib/client/connect.ts";
import type { HostEntry } from "../lib/wire/api.ts";

export default defineCommand({
  meta: { name: "hosts", description: "Print the connected agents with their facts and last apply as JSON" },
  args: {
    behind: { type: "string", description: "Only the hosts whose last successful apply was not at this version (version=...)", valueHint: "VERSION" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args }) {
    const rpc = await connectClient(args, quietClient);
    try {
      let hosts = await rpc.call("hosts", null);
      if (args.behind !== undefined) hosts = Object.fromEntries(Object.entries(hosts).filter(([, h]) => behind(h, args.behind!)));
      process.stdout.write(JSON.stringify(hosts, null, 2) + "\n");
    } finally {
      rpc.close();
    }
  },
});

function behind(h: HostEntry, version: string): boolean {
  return h.lastApply?.ok?.version !== version;
}
