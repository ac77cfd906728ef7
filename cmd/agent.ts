import { hostname } from "node:os";
import { defineCommand } from "citty";
import { UsageError } from "../lib/errors.ts";
import { untilSignal } from "./_daemon.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { runAgent } from "../lib/agent/client.ts";
import { createWorkerExecutor } from "../lib/agent/worker-executor.ts";
import { useColdCodeJitPolicy } from "../lib/jit-policy.ts";
import { gatherFacts } from "../lib/facts/gather.ts";
import { parsePublicKey, validateId } from "../lib/crypto/keys.ts";
import { version } from "../lib/version.ts";

export default defineCommand({
  meta: { name: "agent", description: "Connect to a master and run the roles it sends (as root, under systemd/launchd)" },
  args: {
    master: { type: "positional", description: "The master's address, MASTER[:PORT] (port 11111 by default)", valueHint: "MASTER[:PORT]" },
    id: { type: "string", description: "This agent's id (default: the host name)" },
    keyroot: { type: "string", description: "Directory of this agent's keys", default: "/etc/salty", valueHint: "DIR" },
    path: { type: "string", description: "Write every destination under this prefix (tests, several agents per machine)", valueHint: "PREFIX" },
    "master-key": { type: "string", description: "The master's public key (base64), instead of trusting it on first contact" },
    "remote-exec": { type: "boolean", default: true, description: "Run `salty run` commands (--no-remote-exec: refuse them; roles still run)" },
  },
  async run({ args }) {
    if (!args.master) throw new UsageError("salty agent needs the master's address: salty agent MASTER[:PORT]");
    const { host, port } = parseHostPort(args.master, "MASTER");
    const id = validateId(args.id ?? hostname());
    if (args.path !== undefined && !args.path.startsWith("/")) throw new UsageError("--path must be an absolute directory");
    const masterKey = args["master-key"] ? parsePublicKey(args["master-key"], "--master-key") : undefined;
    useColdCodeJitPolicy(); // as the compiled executable starts; also when run from source
    const stop = new AbortController();
    const execute = createWorkerExecutor({ pathPrefix: args.path ?? "", keyroot: args.keyroot });
    const running = runAgent({
      host, port, id, keyroot: args.keyroot, signal: stop.signal,
      ...(masterKey ? { masterKey } : {}),
      session: { gatherFacts, execute, version: version.version, remoteExec: args["remote-exec"] !== false },
    });
    // Whichever comes first: a signal (stop cleanly) or a fatal error (thrown to main: exit 1).
    await Promise.race([untilSignal().then(() => stop.abort()), running]);
    stop.abort();
    try {
      await running;
    } finally {
      execute.close();
    }
  },
});
