// The master's side of one client connection (`salty apply`, `salty hosts`,
// `salty meta`), over the local Unix socket or an authenticated remote link.

import { Rpc } from "../wire/rpc.ts";
import { fromClient } from "../wire/inbound.ts";
import type { FrameLink } from "../wire/link.ts";
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import type {
  ApplyEvent,
  ApplyProgress,
  ApplyReport,
  ApplyRequest,
  ClientApi,
  ControlApi,
} from "../wire/api.ts";
import { bool, obj, optStr, str, strList } from "../wire/check.ts";
import type { SchedulerDeps } from "./scheduler.ts";
import { applyOrRollout, resumeScope } from "./rollout.ts";
import { fitReport } from "./report-size.ts";
import { slimOutside } from "../wire/outside.ts";
import type { Recorder } from "../history/recorder.ts";
import { hostsWithLastApply, jobHandlers, jobsShow, recorded, whoOf } from "./jobs.ts";
import { adhocHandlers, withInventory, type AdhocControl } from "./adhoc-control.ts";

export interface ControlDeps extends Omit<SchedulerDeps, "progress"> {
  meta(showSecrets: boolean): Promise<unknown>;
  /** The job history (the daemon's; bootstrap keeps none). */
  history?: Recorder;
  /** `salty run`, `ping` and `targets`: which hosts a target selects, their secrets, the pending keys. */
  adhoc?: AdhocControl;
}

/** `remote`: the client key's id of a remote client; `localUid`: the kernel's word for a local one (sys/peer-cred.ts). */
export function serveClient(
  link: FrameLink,
  deps: ControlDeps,
  peer: { remote?: string; localUid?: number | undefined } = {},
): Rpc<ControlApi, ClientApi> {
  const rpc: Rpc<ControlApi, ClientApi> = new Rpc<ControlApi, ClientApi>(
    link,
    {
      hosts: async () =>
        withInventory(await hostsWithLastApply(deps.registry.entries(), deps.history), deps.adhoc),
      // The apply goes on when the client goes away; its report is recorded as it finishes (lib/master/jobs.ts).
      apply: async (p) => {
        const asked = applyRequest(p);
        // --resume: the job's own arguments, on the hosts it never attempted (lib/master/rollout.ts).
        const { req, scope } = asked.resume
          ? await resumeScope(asked, (id) => jobsShow(deps.history, id))
          : { req: asked, scope: {} };
        const notify = (pr: ApplyProgress) => rpc.notify("apply.progress", pr);
        // The hosts whose report went out live, for a client that needs them back without roles.
        const sentLive =
          req.live && obj(p, "apply").slimLive === true ? new Set<string>() : undefined;
        const events = req.live
          ? liveEvents(req.live, (e) => {
              rpc.notify("apply.event", e);
              if (e.type === "host_end") sentLive?.add(e.host.id);
            })
          : undefined;
        const report = await recorded(
          deps.history,
          { req, who: whoOf(peer, req), notify },
          async (progress, mark) =>
            fitReport(
              await applyOrRollout(
                req,
                { ...deps, progress, events: (e) => (mark(e), events?.(e)) },
                scope,
              ),
            ),
        );
        const reply = sentLive?.size ? withoutRolesOf(report, sentLive) : report;
        // 9,000 hosts outside a target of 1,000 travel as their ids (the job history keeps them whole).
        return obj(p, "apply").slimOutside === true ? slimOutside(reply) : reply;
      },
      ...jobHandlers(deps.history, (pr) => rpc.notify("apply.progress", pr)),
      ...adhocHandlers(
        deps,
        (user) => whoOf(peer, { args: [], dryRun: false, diff: false, ...(user ? { user } : {}) }),
        (e) => rpc.notify("run.event", e),
      ),
      meta: (p) => deps.meta(bool(obj(p, "params").showSecrets, "showSecrets")),
      ping: () => null,
    },
    fromClient,
  );
  return rpc;
}

function applyRequest(p: unknown): ApplyRequest {
  const o = obj(p, "apply");
  const req: ApplyRequest = {
    args: strList(o.args, "args"),
    dryRun: bool(o.dryRun, "dryRun"),
    diff: bool(o.diff, "diff"),
  };
  if (typeof o.timeoutMs === "number" && o.timeoutMs > 0) req.timeoutMs = o.timeoutMs;
  if (o.bootstrap === true) req.bootstrap = true;
  const user = optStr(o.user, "user");
  if (user) req.user = user.slice(0, 64);
  if (o.live === "hosts" || o.live === "roles") req.live = o.live;
  if (o.resume !== undefined) {
    const r = obj(o.resume, "resume");
    req.resume = {
      job: str(r.job, "resume.job"),
      retryFailed: bool(r.retryFailed, "resume.retryFailed"),
    };
  }
  return req;
}

/** The report with the hosts in `ids` left without roles (a new object: the job history keeps the whole one). */
function withoutRolesOf(report: ApplyReport, ids: ReadonlySet<string>): ApplyReport {
  return { ...report, hosts: report.hosts.map((h) => (ids.has(h.id) ? { ...h, roles: [] } : h)) };
}

/** The events the client asked for; one that cannot be sent (a host report past the frame size) is left out:
 * the client prints from the final report, cut to fit, every host it did not get live. */
function liveEvents(
  level: "hosts" | "roles",
  send: (e: ApplyEvent) => void,
): (e: ApplyEvent) => void {
  return (e) => {
    if (level === "hosts" && e.type !== "host_end") return;
    try {
      send(e);
    } catch (err) {
      log("apply.event_dropped", { type: e.type, error: errorMessage(err) });
    }
  };
}
