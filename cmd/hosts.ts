import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { quietClient } from "../lib/client/connect.ts";
import type { HostEntry } from "../lib/wire/api.ts";
import { hostsTable } from "../lib/client/hosts-table.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: {
    name: "hosts",
    description:
      "The connected agents: a table (cluster, env, os, ip, connected, last apply), or JSON with --json",
  },
  args: {
    json: {
      type: "boolean",
      description: "Print them as one JSON object keyed by id, with their facts",
    },
    behind: {
      type: "string",
      description:
        "Only the hosts whose last successful apply was not at this version (version=...)",
      valueHint: "VERSION",
    },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args }) {
    const rpc = await connectClient(args, quietClient);
    try {
      let hosts = await rpc.call("hosts", null, { json: true });
      if (args.behind !== undefined)
        hosts = Object.fromEntries(
          Object.entries(hosts).filter(([, h]) => behind(h, args.behind!)),
        );
      if (args.json) io().stdout.write(JSON.stringify(hosts, null, 2) + "\n");
      else if (Object.keys(hosts).length === 0) io().stderr.write("no agent is connected\n");
      else io().stdout.write(hostsTable(hosts, Date.now()).join("\n") + "\n");
    } finally {
      rpc.close();
    }
  },
});

function behind(h: HostEntry, version: string): boolean {
  return h.lastApply?.ok?.version !== version;
}
