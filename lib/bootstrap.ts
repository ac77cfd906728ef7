// `salty bootstrap`: a master and an agent in one process, joined by an
// in-memory link, applying this host's roles with bootstrap=true (`salty
// pull`: false). No keys,
// no network: what a fresh host runs before any service is installed.

import { SaltyError } from "./errors.ts";
import { version } from "./version.ts";
import { memoryPair } from "./wire/memory.ts";
import type { ApplyReport } from "./wire/api.ts";
import { masterCore } from "./master/core.ts";
import { serveAgent } from "./master/agent-session.ts";
import { runApply } from "./master/scheduler.ts";
import { NoHostMatched } from "./inventory/resolve.ts";
import { masterShell } from "./master/server-shell.ts";
import { serveMaster } from "./agent/session.ts";
import { createWorkerExecutor } from "./agent/worker-executor.ts";
import { gatherFacts } from "./facts/gather.ts";
import { realExec } from "./sys/exec.ts";

export interface BootstrapOptions {
  id: string;
  fileroot: string;
  keyroot: string;
  pathPrefix: string;
  /** KEY=VALUE arguments as for apply; any target= is replaced by this host. */
  args: string[];
  dryRun: boolean;
  diff: boolean;
  timeoutMs?: number;
  /** bootstrap= of the roles' context: true unless false is given (`salty pull`). */
  bootstrap?: boolean;
}

export async function bootstrap(opts: BootstrapOptions): Promise<ApplyReport> {
  const core = await masterCore(opts);
  const { fileroot, registry, files } = core;
  const [masterEnd, agentEnd] = memoryPair([`bootstrap:${opts.id}`, "bootstrap:master"]);
  // Master and agent are the same host and user here, so serverShell is simply local.
  serveAgent(masterEnd, opts.id, {
    registry,
    files,
    version: version.version,
    serverShell: masterShell(realExec, fileroot),
  });
  const execute = createWorkerExecutor({ pathPrefix: opts.pathPrefix, keyroot: opts.keyroot });
  const closed = serveMaster(agentEnd, { gatherFacts, execute, version: version.version });
  try {
    for (let i = 0; i < 1000 && !registry.get(opts.id); i++) await Bun.sleep(1);
    if (!registry.get(opts.id))
      throw new SaltyError("the in-process agent did not start", "E_BOOTSTRAP");
    const args = [...opts.args.filter((a) => !a.startsWith("target=")), `target=${opts.id}`];
    const notHere = () =>
      new SaltyError(`host ${opts.id} is not in ${fileroot}/hosts/index.ts`, "E_BOOTSTRAP");
    const report = await runApply(
      {
        args,
        dryRun: opts.dryRun,
        diff: opts.diff,
        ...(opts.bootstrap === false ? {} : { bootstrap: true }),
        ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      },
      core.control,
    ).catch((err: unknown) => Promise.reject(err instanceof NoHostMatched ? notHere() : err));
    const mine = report.hosts.filter((h) => h.id === opts.id);
    if (!mine.length || mine[0]!.status !== "ran") throw notHere();
    return { ...report, hosts: mine, rc: mine.some((h) => h.errors > 0) ? 1 : 0 };
  } finally {
    masterEnd.close("bootstrap done");
    await closed;
    execute.close();
    core.close();
  }
}
