import { defineCommand } from "citty";
import { filerootArg, keyrootArg } from "./_cli.ts";
import { untilSignal } from "./_daemon.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { startMaster } from "../lib/master/server.ts";
import { realExec } from "../lib/sys/exec.ts";
import { masterShell } from "../lib/master/server-shell.ts";
import { useNormalJitPolicy } from "../lib/jit-policy.ts";

export default defineCommand({
  meta: { name: "master", description: "Serve the fileroot to agents and run applies" },
  args: {
    bind: { type: "string", description: "Address to listen on for agents", default: "0.0.0.0:11111", valueHint: "HOST:PORT" },
    ...keyrootArg,
    ...filerootArg,
    "auto-accept": { type: "boolean", description: "Accept every new agent key (labs and tests)" },
    "allow-server-shell": { type: "boolean", description: "Let roles run serverShell on the master" },
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
    });
    await untilSignal();
    await master.close();
  },
});
