import { defineCommand } from "citty";
import { filerootArg, keyrootArg } from "./_cli.ts";
import { untilSignal } from "./_daemon.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { startMaster } from "../lib/master/server.ts";
import { realExec } from "../lib/sys/exec.ts";
import { masterShell } from "../lib/master/server-shell.ts";
import { useNormalJitPolicy } from "../lib/jit-policy.ts";
import { HISTORY_DEFAULTS } from "../lib/history/open.ts";
import { UsageError } from "../lib/errors.ts";

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`${name} must be a whole number above 0, not ${JSON.stringify(value)}`);
  return Number(value);
}

export default defineCommand({
  meta: { name: "master", description: "Serve the fileroot to agents and run applies" },
  args: {
    bind: { type: "string", description: "Address to listen on for agents", default: "0.0.0.0:11111", valueHint: "HOST:PORT" },
    ...keyrootArg,
    ...filerootArg,
    "auto-accept": { type: "boolean", description: "Accept every new agent key (labs and tests)" },
    "allow-server-shell": { type: "boolean", description: "Let roles run serverShell on the master" },
    db: { type: "string", description: "The job history's database: postgres://USER@HOST/DB (default: KEYROOT/history.db, SQLite)", valueHint: "URL" },
    "history-keep": { type: "string", description: `Jobs the history keeps (default ${HISTORY_DEFAULTS.keep})`, valueHint: "N" },
    "history-days": { type: "string", description: `Days the history keeps a job (default ${HISTORY_DEFAULTS.days})`, valueHint: "D" },
    "history-max-mb": { type: "string", description: `Largest size of KEYROOT/history.db; past it jobs wait in KEYROOT/history-spool (default ${HISTORY_DEFAULTS.maxMb})`, valueHint: "MB" },
  },
  async run({ args }) {
    useNormalJitPolicy();
    const { host, port } = parseHostPort(args.bind, "--bind");
    const master = await startMaster({
      host,
      port,
      keyroot: args.keyroot,
      fileroot: args.fileroot,
      autoAccept: !!args["auto-accept"],
      ...(args["allow-server-shell"] ? { serverShell: masterShell(realExec, args.fileroot) } : {}),
      history: {
        ...(args.db ? { db: args.db } : {}),
        keep: positive(args["history-keep"], "--history-keep", HISTORY_DEFAULTS.keep),
        days: positive(args["history-days"], "--history-days", HISTORY_DEFAULTS.days),
        maxBytes: positive(args["history-max-mb"], "--history-max-mb", HISTORY_DEFAULTS.maxMb) * 1024 * 1024,
      },
    });
    await untilSignal();
    await master.close();
  },
});
