// An agent's periodic apply of itself (`salty agent --apply-every`): the agent
// asks, the master decides everything else. Only ever that agent's own host,
// with its inventory roles and no arguments (the agent says nothing but "now"
// and whether an unchanged input may be skipped); at most one running per
// host and one accepted per timing.scheduledMinGapMs (an agent is untrusted:
// one asking in a loop gets a refusal, not an apply). Each run is a job of
// kind `scheduled` in the history, by `agent:ID`.
//
// The input digest (--only-if-changed), per role of the host: the role's
// name and source, the hash and size of each copy/render source its last run
// on this connection fetched, the host's resolved vars (secrets decrypted:
// the digest stays in this process's memory, never shown), and salty's
// version. Kept in memory after each successful scheduled run; a restarted
// master or a failed run forgets it, so the next request runs.

import { SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import { hashBytes } from "../sys/hash.ts";
import { version } from "../version.ts";
import { bool, obj } from "../wire/check.ts";
import type { ApplyMeReply, ApplyRequest } from "../wire/api.ts";
import { runApply, type ApplyScope } from "./scheduler.ts";
import { fitReport } from "./report-size.ts";
import { recorded } from "./jobs.ts";
import type { ControlDeps } from "./control-session.ts";
import type { FileServer } from "./fileserver.ts";

export type ApplyMe = (id: string, params: unknown) => Promise<ApplyMeReply>;

export function scheduledApplies(deps: { control: ControlDeps; files: FileServer }): ApplyMe {
  const { control } = deps;
  const accepted = new Map<string, number>();
  const running = new Set<string>();
  const digests = new Map<string, string>();

  /** The scope of this host alone, whatever target= would match besides. */
  const ownPlan =
    (id: string) =>
    async (req: ApplyRequest, connected: string[]): Promise<ApplyScope> => {
      const scope = await control.scope(req, connected);
      const hosts = scope.hosts.filter((h) => h.id === id && h.status === "run");
      if (!hosts.length)
        throw new SaltyError(`host ${id} is not in the inventory`, "E_NOT_IN_INVENTORY");
      return { ...scope, hosts };
    };

  const digestOf = async (id: string, scope: ApplyScope): Promise<string> => {
    const session = control.registry.get(id);
    const roles = scope.hosts[0]!.roles.filter((r) => !r.skipped && !r.tag).map((r) => r.name);
    const files = deps.files.sourceFor(() => new Set(roles));
    const parts = [];
    for (const role of roles) {
      const known = await session?.known.for(role, files);
      parts.push({
        role,
        source: (await control.roleSource(role))?.source ?? null,
        files: Object.entries(known ?? {}).sort(),
        vars: scope.context(id, role, { hosts: false }).me.vars,
      });
    }
    return hashBytes(JSON.stringify({ salty: version.version, roles: parts }));
  };

  return async (id, params) => {
    const onlyIfChanged = bool(
      obj(params ?? {}, "agent.applyMe").onlyIfChanged ?? false,
      "onlyIfChanged",
    );
    const session = control.registry.get(id);
    if (session) session.scheduledAt = new Date();
    if (running.has(id)) throw refused(id, "its previous scheduled apply is still running");
    const since = Date.now() - (accepted.get(id) ?? 0);
    if (since < timing.scheduledMinGapMs)
      throw refused(
        id,
        `the last one was ${(since / 1000).toFixed(1)}s ago (at most one per ${timing.scheduledMinGapMs / 1000}s)`,
      );
    accepted.set(id, Date.now());
    running.add(id);
    try {
      const req: ApplyRequest = { args: [`target=${id}`], dryRun: false, diff: false };
      const scope = ownPlan(id);
      if (onlyIfChanged && digests.has(id)) {
        const digest = await digestOf(id, await scope(req, control.registry.ids())).catch(
          () => undefined,
        );
        if (digest === digests.get(id)) {
          log("scheduled.unchanged", { id });
          return { status: "unchanged" };
        }
      }
      let job = "";
      const report = await recorded(
        control.history,
        { req, who: `agent:${id}`, kind: "scheduled", notify: (p) => (job = p.job ?? job) },
        async (_progress, mark) =>
          fitReport(await runApply(req, { ...control, scope, events: mark })),
      );
      const mine = report.hosts[0];
      if (report.rc === 0 && onlyIfChanged) {
        const d = await digestOf(id, await scope(req, control.registry.ids())).catch(
          () => undefined,
        );
        if (d) digests.set(id, d);
      } else digests.delete(id);
      return {
        status: "ran",
        rc: report.rc,
        ...(job ? { job } : {}),
        errors: mine?.errors ?? 0,
        changed: mine?.changed ?? 0,
      };
    } finally {
      running.delete(id);
    }
  };
}

function refused(id: string, why: string): SaltyError {
  log("scheduled.refused", { id, why });
  return new SaltyError(`scheduled apply refused: ${why}`, "E_RATE");
}
