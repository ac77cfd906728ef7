// The master's side of one client connection (`salty apply`, `salty hosts`,
// `salty meta`), over the local Unix socket or an authenticated remote link.

import { Rpc } from "../wire/rpc.ts";
import { fromClient } from "../wire/inbound.ts";
import type { FrameLink } from "../wire/link.ts";
import type { ApplyRequest, ClientApi, ControlApi } from "../wire/api.ts";
import { bool, obj, strList } from "../wire/check.ts";
import { runApply, type SchedulerDeps } from "./scheduler.ts";
import { fitReport } from "./report-size.ts";

export interface ControlDeps extends Omit<SchedulerDeps, "progress"> {
  meta(showSecrets: boolean): Promise<unknown>;
}

export function serveClient(link: FrameLink, deps: ControlDeps): Rpc<ControlApi, ClientApi> {
  const rpc: Rpc<ControlApi, ClientApi> = new Rpc<ControlApi, ClientApi>(link, {
    hosts: () => deps.registry.entries(),
    apply: async (p) => fitReport(await runApply(applyRequest(p), { ...deps, progress: (pr) => rpc.notify("apply.progress", pr) })),
    meta: (p) => deps.meta(bool(obj(p, "params").showSecrets, "showSecrets")),
    ping: () => null,
  }, fromClient);
  return rpc;
}

function applyRequest(p: unknown): ApplyRequest {
  const o = obj(p, "apply");
  const req: ApplyRequest = { args: strList(o.args, "args"), dryRun: bool(o.dryRun, "dryRun"), diff: bool(o.diff, "diff") };
  if (typeof o.timeoutMs === "number" && o.timeoutMs > 0) req.timeoutMs = o.timeoutMs;
  if (o.bootstrap === true) req.bootstrap = true;
  return req;
}
