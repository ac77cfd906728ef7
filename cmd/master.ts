import { defineCommand } from "./_command.ts";
import { filerootArg, keyrootArg } from "./_cli.ts";
import { untilSignal } from "./_daemon.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { startMaster } from "../lib/master/server.ts";
import { realExec } from "../lib/sys/exec.ts";
import { masterShell } from "../lib/master/server-shell.ts";
import { useNormalJitPolicy } from "../lib/jit-policy.ts";
import { HISTORY_DEFAULTS } from "../lib/history/open.ts";
import { UsageError } from "../lib/errors.ts";
import { startDeploys, type DeployHttpOptions } from "../lib/deploy/start.ts";

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value))
    throw new UsageError(`${name} must be a whole number above 0, not ${JSON.stringify(value)}`);
  return Number(value);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/;

/** --http and its companions; TLS is required unless the API listens on loopback only. */
function deployApi(args: Record<string, unknown>): DeployHttpOptions | undefined {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
  const addr = str("http");
  const cert = str("tls-cert"),
    key = str("tls-key");
  for (const k of [
    "tls-cert",
    "tls-key",
    "deploy-root",
    "deploy-keep",
    "deploy-max-entries",
    "deploy-max-mb",
  ]) {
    if (!addr && str(k) !== undefined) throw new UsageError(`--${k} goes with --http`);
  }
  if (!addr) return undefined;
  if (!!cert !== !!key) throw new UsageError("--tls-cert and --tls-key go together");
  const { host, port } = parseHostPort(addr, "--http");
  if (!cert && !LOOPBACK.test(host))
    throw new UsageError(
      `--http ${addr}: TLS is required (--tls-cert, --tls-key) unless the address is loopback (tokens would cross the network in clear)`,
    );
  const root = str("deploy-root");
  return {
    host,
    port,
    ...(cert && key ? { tls: { cert, key } } : {}),
    ...(root ? { deployRoot: root } : {}),
    keep: positive(str("deploy-keep"), "--deploy-keep", 5),
    maxEntries: positive(str("deploy-max-entries"), "--deploy-max-entries", 20_000),
    maxBytes: positive(str("deploy-max-mb"), "--deploy-max-mb", 4096) * 1024 * 1024,
  };
}

export default defineCommand({
  meta: { name: "master", description: "Serve the fileroot to agents and run applies" },
  args: {
    bind: {
      type: "string",
      description: "Address to listen on for agents",
      default: "0.0.0.0:11111",
      valueHint: "HOST:PORT",
    },
    ...keyrootArg,
    ...filerootArg,
    "auto-accept": { type: "boolean", description: "Accept every new agent key (labs and tests)" },
    "allow-server-shell": {
      type: "boolean",
      description: "Let roles run serverShell on the master",
    },
    db: {
      type: "string",
      description:
        "The job history's database: postgres://USER@HOST/DB (default: KEYROOT/history.db, SQLite)",
      valueHint: "URL",
    },
    name: {
      type: "string",
      description:
        "With --db: this master's name where agents connected to it are recorded (default HOSTNAME:PORT); `salty apply` on another master says `connected to NAME`",
      valueHint: "NAME",
    },
    "history-keep": {
      type: "string",
      description: `Jobs the history keeps (default ${HISTORY_DEFAULTS.keep})`,
      valueHint: "N",
    },
    "history-days": {
      type: "string",
      description: `Days the history keeps a job (default ${HISTORY_DEFAULTS.days})`,
      valueHint: "D",
    },
    http: {
      type: "string",
      description:
        "Serve the deploy API (salty deploy, curl) on this address; TLS required unless loopback",
      valueHint: "HOST:PORT",
    },
    "tls-cert": {
      type: "string",
      description: "The deploy API's certificate (PEM)",
      valueHint: "FILE",
    },
    "tls-key": {
      type: "string",
      description: "The deploy API's private key (PEM)",
      valueHint: "FILE",
    },
    "deploy-root": {
      type: "string",
      description: "Where deploy releases live (default: deploys/ beside the fileroot)",
      valueHint: "DIR",
    },
    "deploy-keep": {
      type: "string",
      description: "Releases kept per project/deployment (default 5)",
      valueHint: "N",
    },
    "deploy-max-entries": {
      type: "string",
      description: "Most entries a bundle may hold (default 20000)",
      valueHint: "N",
    },
    "deploy-max-mb": {
      type: "string",
      description: "Most content a bundle may hold, in MB (default 4096)",
      valueHint: "MB",
    },
    "history-max-mb": {
      type: "string",
      description: `Largest size of KEYROOT/history.db; past it jobs wait in KEYROOT/history-spool (default ${HISTORY_DEFAULTS.maxMb})`,
      valueHint: "MB",
    },
  },
  async run({ args }) {
    useNormalJitPolicy();
    if (args.name !== undefined && !args.db)
      throw new UsageError("--name goes with --db (several masters sharing one database)");
    const { host, port } = parseHostPort(args.bind, "--bind");
    const http = deployApi(args);
    const master = await startMaster({
      host,
      port,
      keyroot: args.keyroot,
      fileroot: args.fileroot,
      autoAccept: !!args["auto-accept"],
      ...(args.name ? { name: args.name } : {}),
      ...(args["allow-server-shell"] ? { serverShell: masterShell(realExec, args.fileroot) } : {}),
      history: {
        ...(args.db ? { db: args.db } : {}),
        keep: positive(args["history-keep"], "--history-keep", HISTORY_DEFAULTS.keep),
        days: positive(args["history-days"], "--history-days", HISTORY_DEFAULTS.days),
        maxBytes:
          positive(args["history-max-mb"], "--history-max-mb", HISTORY_DEFAULTS.maxMb) *
          1024 *
          1024,
      },
      ...(http ? { http: (deps) => startDeploys(http, deps) } : {}),
    });
    await untilSignal();
    await master.close();
  },
});
