// `salty pull --report MASTER`: the pull's report sent to a master's job
// history over the secure channel, authenticated with this host's agent key
// (KEYROOT/agent.key, accepted on the master like any agent's) and the
// master's key pinned as the agent pins it. The connection says no hello: it
// is not an agent session (a running agent of the same id is not replaced),
// it only calls agent.report, which the master records for this key's id alone.

import { join } from "node:path";
import { SaltyError } from "../errors.ts";
import { connectTcp } from "../wire/tcp.ts";
import { MasterRefusedError, secureClient } from "../wire/secure.ts";
import { Rpc } from "../wire/rpc.ts";
import { loadOrCreateIdentity, pinFirstContact, readPinnedMasterKey } from "../crypto/keys.ts";
import { fitReport } from "../master/report-size.ts";
import type { AgentApi, ApplyReport, MasterApi, PullReportRequest } from "../wire/api.ts";

/** Characters of output a report keeps: the master takes control messages of 1 MiB at most (UTF-8: up to 4 bytes each). */
const REPORT_CHARS = 200_000;

export async function reportPull(o: {
  host: string;
  port: number;
  id: string;
  keyroot: string;
  commit: string;
  repo: string;
  branch: string;
  report?: ApplyReport;
  error?: string;
}): Promise<string> {
  const identity = await loadOrCreateIdentity(o.keyroot, "agent");
  const pinned = await readPinnedMasterKey(o.keyroot);
  const master = `${o.host}:${o.port}`;
  const socket = await connectTcp(o.host, o.port);
  try {
    const { link, masterKey } = await secureClient(socket, {
      identity,
      id: o.id,
      kind: "agent",
      pinnedAt: join(o.keyroot, "master.pub"),
      ...(pinned ? { masterKey: pinned } : {}),
    }).catch(async (err) => {
      if (!pinned && err instanceof MasterRefusedError)
        await pinFirstContact(o.keyroot, err.masterKey, master);
      throw err;
    });
    if (!pinned) await pinFirstContact(o.keyroot, masterKey, master);
    const refuse = () =>
      Promise.reject(new SaltyError("a pull report connection runs nothing", "E_DENIED"));
    const rpc = new Rpc<AgentApi, MasterApi>(link, {
      "role.run": refuse,
      "cmd.run": refuse,
      ping: () => null,
    });
    try {
      // The report's outputs are cut to fit (the copy printed here stays whole).
      const req: PullReportRequest = { commit: o.commit, repo: o.repo, branch: o.branch };
      if (o.report) req.report = fitReport(structuredClone(o.report), REPORT_CHARS);
      if (o.error !== undefined) req.error = o.error;
      return (await rpc.call("agent.report", req)).job;
    } finally {
      rpc.close("report sent");
    }
  } finally {
    socket.close("report sent");
  }
}
