import { hostname } from "node:os";
import { defineCommand } from "./_command.ts";
import { UsageError } from "../lib/errors.ts";
import { untilSignal } from "./_daemon.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { runAgents } from "../lib/agent/reconnect.ts";
import { createWorkerExecutor } from "../lib/agent/worker-executor.ts";
import { useColdCodeJitPolicy } from "../lib/jit-policy.ts";
import { gatherFacts } from "../lib/facts/gather.ts";
import { parsePublicKey, validateId } from "../lib/crypto/keys.ts";
import { version } from "../lib/version.ts";
import { parseDuration } from "./_args.ts";
import { splayOffset, type Schedule } from "../lib/agent/schedule.ts";

export default defineCommand({
  meta: {
    name: "agent",
    description: "Connect to a master and run the roles it sends (as root, under systemd/launchd)",
  },
  args: {
    master: {
      type: "positional",
      description:
        "The master's address, MASTER[:PORT] (port 11111 by default); several masters: M1[:PORT],M2[:PORT] (one session to each)",
      valueHint: "MASTER[:PORT]",
    },
    failover: {
      type: "boolean",
      description: "With several masters: one session at a time, the next master when it is lost",
    },
    id: { type: "string", description: "This agent's id (default: the host name)" },
    keyroot: {
      type: "string",
      description: "Directory of this agent's keys",
      default: "/etc/salty",
      valueHint: "DIR",
    },
    path: {
      type: "string",
      description: "Write every destination under this prefix (tests, several agents per machine)",
      valueHint: "PREFIX",
    },
    "master-key": {
      type: "string",
      description: "The master's public key (base64), instead of trusting it on first contact",
    },
    "remote-exec": {
      type: "boolean",
      default: true,
      description: "Run `salty run` commands (--no-remote-exec: refuse them; roles still run)",
    },
    "apply-every": {
      type: "string",
      description: "Ask the master for this host's own apply on this period (30m, 1h, 90s)",
      valueHint: "DURATION",
    },
    splay: {
      type: "string",
      description:
        "Spread over this much of the period, at a fixed offset from the host's id (default: the whole period)",
      valueHint: "DURATION",
    },
    "only-if-changed": {
      type: "boolean",
      description:
        "Skip a scheduled apply when no role's inputs changed since the last successful one",
    },
  },
  async run({ args }) {
    if (!args.master)
      throw new UsageError("salty agent needs the master's address: salty agent MASTER[:PORT]");
    const masters = args.master.split(",").map((m) => parseHostPort(m.trim(), "MASTER"));
    if (new Set(masters.map((m) => `${m.host}:${m.port}`)).size !== masters.length)
      throw new UsageError(`MASTER lists a master twice: ${args.master}`);
    if (args.failover && masters.length < 2)
      throw new UsageError(
        "--failover needs several masters: salty agent M1[:PORT],M2[:PORT] --failover",
      );
    const id = validateId(args.id ?? hostname());
    if (args.path !== undefined && !args.path.startsWith("/"))
      throw new UsageError("--path must be an absolute directory");
    const schedule = scheduleOf(id, args);
    const masterKey = args["master-key"]
      ? parsePublicKey(args["master-key"], "--master-key")
      : undefined;
    useColdCodeJitPolicy(); // as the compiled executable starts; also when run from source
    const stop = new AbortController();
    const execute = createWorkerExecutor({ pathPrefix: args.path ?? "", keyroot: args.keyroot });
    const running = runAgents({
      masters,
      failover: !!args.failover,
      id,
      keyroot: args.keyroot,
      signal: stop.signal,
      ...(masterKey ? { masterKey } : {}),
      session: {
        gatherFacts,
        execute,
        version: version.version,
        remoteExec: args["remote-exec"] !== false,
        ...(schedule ? { schedule } : {}),
      },
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

/** --apply-every, --splay, --only-if-changed: the agent's schedule, or none. */
function scheduleOf(
  id: string,
  args: { "apply-every"?: string; splay?: string; "only-if-changed"?: boolean },
): Schedule | undefined {
  if (args["apply-every"] === undefined) {
    if (args.splay !== undefined || args["only-if-changed"])
      throw new UsageError("--splay and --only-if-changed go with --apply-every");
    return undefined;
  }
  const everyMs = parseDuration(args["apply-every"], "--apply-every", 1000);
  const splayMs = args.splay === undefined ? everyMs : parseDuration(args.splay, "--splay", 0);
  if (splayMs > everyMs)
    throw new UsageError(
      `--splay (${args.splay}) must not be longer than --apply-every (${args["apply-every"]})`,
    );
  return { everyMs, offsetMs: splayOffset(id, splayMs), onlyIfChanged: !!args["only-if-changed"] };
}
