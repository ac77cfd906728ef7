import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { withoutMethod } from "./_adhoc.ts";
import { quietClient } from "../lib/client/connect.ts";
import { targetsLines } from "../lib/client/adhoc-format.ts";
import { printLines } from "../lib/client/print.ts";
import { parseTarget } from "../lib/inventory/target.ts";
import { UsageError } from "../lib/errors.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: {
    name: "targets",
    description: "Print the hosts a target expression selects, running nothing",
  },
  args: {
    target: {
      type: "positional",
      required: false,
      description:
        "A glob, cluster:NAME, env:NAME, role:NAME, fact:PATH=GLOB, var:PATH=GLOB, with and/or/not (see README)",
      valueHint: "EXPR",
    },
    json: { type: "boolean", description: "Print the selection as one JSON document" },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args }) {
    const target = args.target as string | undefined;
    if (target === undefined)
      throw new UsageError(
        "salty targets needs an expression, e.g. salty targets 'role:nginx and env:prod'",
      );
    parseTarget(target);
    const rpc = await connectClient(args, quietClient);
    try {
      const reply = await rpc
        .call("targets", { target }, { json: true })
        .catch(withoutMethod("targets"));
      if (args.json) io().stdout.write(JSON.stringify(reply, null, 2) + "\n");
      else printLines(targetsLines(reply), io());
    } finally {
      rpc.close();
    }
  },
});
