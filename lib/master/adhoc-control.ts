// The client requests of `salty targets`, `salty ping` and `salty run`:
// parameters checked (a client is untrusted too), then targeting.ts, ping.ts
// and adhoc-run.ts do the work; a run is recorded in the job history as kind `run`.

import { SaltyError, UsageError, errorMessage } from "../errors.ts";
import { timing } from "../constants.ts";
import { bool, int, obj, optStr, str, strList } from "../wire/check.ts";
import type { ControlApi, HostEntry, RunEvent, RunRequest } from "../wire/api.ts";
import type { Handlers } from "../wire/rpc.ts";
import type { PlannedHost } from "../inventory/resolve.ts";
import type { Recorder } from "../history/recorder.ts";
import type { Registry } from "./registry.ts";
import type { Selection } from "./targeting.ts";
import { pingHosts } from "./ping.ts";
import { asApplyReport, commandText, runAdhoc } from "./adhoc-run.ts";
import { jobEnded } from "./idle-gc.ts";

export interface AdhocControl {
  select(target: string | undefined): Promise<Selection>;
  secretsOf(host: PlannedHost): string[];
  pendingAgents?(): Promise<string[]>;
}

interface Deps {
  registry: Registry;
  history?: Recorder;
  adhoc?: AdhocControl;
  /** Several masters: where hosts not connected here are (presence.ts). */
  elsewhere?(ids: string[]): Promise<Map<string, string>>;
}

function needAdhoc(deps: Deps): AdhocControl {
  if (!deps.adhoc)
    throw new SaltyError("this master does not serve run, ping or targets", "E_UNSUPPORTED");
  return deps.adhoc;
}

const MAX_TIMEOUT_MS = 24 * 3600_000;

function runRequest(p: unknown): RunRequest {
  const o = obj(p, "run");
  const req: RunRequest = {
    target: str(o.target, "target"),
    argv: strList(o.argv, "argv"),
    shell: bool(o.shell, "shell"),
  };
  if (req.argv.length === 0) throw new UsageError("salty run needs a command after --");
  if (req.shell && req.argv.length !== 1)
    throw new UsageError("--shell takes the command as one string");
  const cwd = optStr(o.cwd, "cwd");
  if (cwd !== undefined) req.cwd = cwd;
  if (o.env !== undefined)
    req.env = Object.fromEntries(
      Object.entries(obj(o.env, "env")).map(([k, v]) => [k, str(v, `env.${k}`)]),
    );
  if (o.timeoutMs !== undefined)
    req.timeoutMs = Math.min(Math.max(1, int(o.timeoutMs, "timeoutMs")), MAX_TIMEOUT_MS);
  const user = optStr(o.user, "user");
  if (user) req.user = user.slice(0, 64);
  if (o.ends === "partial") req.ends = "partial";
  return req;
}

/** `who`: who asked, as the job history records it (master/jobs.ts whoOf), from the user the client says it runs as. */
export function adhocHandlers(
  deps: Deps,
  who: (user: string | undefined) => string,
  emit: (e: RunEvent) => void,
): Pick<Handlers<ControlApi>, "targets" | "agents.ping" | "run"> {
  return {
    targets: async (p) => {
      const target = optStr(obj(p ?? {}, "targets").target, "target");
      const { hosts, strangers } = await needAdhoc(deps).select(target);
      return {
        hosts: hosts.map((h) => ({
          id: h.id,
          cluster: h.cluster,
          env: h.env,
          connected: h.connected,
        })),
        strangers,
      };
    },
    "agents.ping": (p) => {
      const o = obj(p ?? {}, "agents.ping");
      const timeoutMs =
        o.timeoutMs === undefined
          ? timing.pingTimeoutMs
          : Math.min(Math.max(1, int(o.timeoutMs, "timeoutMs")), 600_000);
      const adhoc = needAdhoc(deps);
      return pingHosts(optStr(o.target, "target"), timeoutMs, {
        registry: deps.registry,
        select: adhoc.select,
        ...(adhoc.pendingAgents ? { pendingAgents: adhoc.pendingAgents } : {}),
        ...(deps.elsewhere ? { elsewhere: deps.elsewhere } : {}),
      });
    },
    run: async (p) => {
      const req = runRequest(p);
      const adhoc = needAdhoc(deps);
      const job = deps.history?.start("run", who(req.user), {
        args: [`target=${req.target}`, `cmd=${commandText(req).slice(0, 500)}`],
        dryRun: false,
        diff: false,
      });
      if (job) emit({ type: "job", job: job.id });
      try {
        const report = await runAdhoc(
          req,
          { registry: deps.registry, select: adhoc.select, secretsOf: adhoc.secretsOf },
          emit,
        );
        job?.end(asApplyReport(req, report));
        return job ? { ...report, job: job.id } : report;
      } catch (err) {
        job?.fail(errorMessage(err));
        throw err;
      } finally {
        jobEnded();
      }
    },
  };
}

/** `salty hosts`: each connected host's cluster and env from the inventory; an inventory that does not load leaves them out. */
export async function withInventory(
  entries: Record<string, HostEntry>,
  adhoc: AdhocControl | undefined,
): Promise<Record<string, HostEntry>> {
  if (!adhoc || Object.keys(entries).length === 0) return entries;
  const selection = await adhoc.select(undefined).catch(() => undefined);
  if (!selection) return entries;
  const where = new Map(selection.hosts.map((h) => [h.id, h]));
  return Object.fromEntries(
    Object.entries(entries).map(([id, e]) => {
      const h = where.get(id);
      return [id, h ? { ...e, cluster: h.cluster, env: h.env } : e];
    }),
  );
}
