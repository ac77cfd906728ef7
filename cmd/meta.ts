import { defineCommand } from "./_command.ts";
import { clientKeyroot, clientKeyrootArg } from "./_cli.ts";
import { quietClient } from "../lib/client/connect.ts";
import { connectClient } from "./_connect.ts";
import { resolvedInventory } from "../lib/master/apply-scope.ts";
import { deriveKey, readPassword } from "../lib/crypto/secrets.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: { name: "meta", description: "Print the resolved inventory as JSON (secrets masked)" },
  args: {
    ...clientKeyrootArg,
    fileroot: {
      type: "string",
      description:
        "Directory holding hosts/, roles/ and files/, read when no master answers (default: the fileroot whose keys/ is the keyroot, else .)",
      valueHint: "DIR",
    },
    master: { type: "string", description: "Ask a remote master", valueHint: "HOST[:PORT]" },
    "show-secrets": { type: "boolean", description: "Show decrypted secret values" },
  },
  async run({ args }) {
    const showSecrets = !!args["show-secrets"];
    const keyroot = clientKeyroot(args.keyroot);
    let meta: unknown;
    try {
      // The master knows which agents are connected; ask it when it is reachable.
      const rpc = await connectClient(args, quietClient);
      try {
        meta = await rpc.call("meta", { showSecrets });
      } finally {
        rpc.close();
      }
    } catch (err) {
      if (args.master || (err as { code?: string }).code !== "E_CONNECT") throw err;
      const password = await readPassword(keyroot.dir);
      meta = await resolvedInventory([], showSecrets, {
        fileroot: args.fileroot ?? keyroot.fileroot ?? ".",
        factsOf: () => undefined,
        ...(password ? { secretKey: deriveKey(password) } : {}),
      });
    }
    io().stdout.write(JSON.stringify(meta, null, 2) + "\n");
  },
});
