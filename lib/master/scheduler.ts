// One apply: hosts in parallel, each host's roles in inventory order, one
// apply at a time per host (never interleaved). A host whose agent goes away
// gets rc 1 "connection lost" for its unfinished roles; the others finish.
// The scope (which hosts, which roles, what context) is computed elsewhere
// (apply-scope.ts) and injected, so this file knows nothing of the inventory.

import type { HostContext, HostInfo, Result } from "salty";
import { timing } from "../constants.ts";
import { SaltyError, errorMessage, roleFailure } from "../errors.ts";
import { log } from "../log.ts";
import type {
  ApplyEvent,
  ApplyProgress,
  ApplyReport,
  ApplyRequest,
  HostReport,
  HostStatus,
  RoleOutcome,
} from "../wire/api.ts";
import type { AgentSession, Registry } from "./registry.ts";
import type { FileServer } from "./fileserver.ts";
import { inputDigest } from "../history/inputs.ts";
import { maskReport, masker } from "../crypto/mask.ts";
import { liveResults } from "./live-results.ts";
import { namesHosts } from "./shared-hosts.ts";

export interface HostScope {
  id: string;
  status: "run" | Exclude<HostStatus, "ran">;
  /** Every role of the host in inventory order; `skipped` ones were filtered out by roles=/skip=; a `tag` may have no file. */
  roles: Array<{ name: string; skipped: boolean; tag?: boolean }>;
}

export interface ApplyScope {
  hosts: HostScope[];
  /** The context a role of a host receives (its own secrets only); `hosts: false`: its `hosts` may be left empty (they travel as shared hosts). */
  context(hostId: string, role: string, options?: { hosts?: boolean }): HostContext;
  /** Every host as the others see it: when given, contexts' `hosts` travel once per agent connection (shared-hosts.ts). */
  others?: Record<string, HostInfo>;
  /** The plaintexts of a host's own secrets: masked in its reports, here and on the agent (lib/crypto/mask.ts). */
  secrets?(hostId: string): string[];
}

export interface RoleSource {
  source: string;
  filename: string;
  /** The roles/lib/ modules it imports, by fileroot path (role-modules.ts). */
  modules?: Record<string, string>;
}

export interface SchedulerDeps {
  registry: Registry;
  scope(req: ApplyRequest, connected: string[]): Promise<ApplyScope>;
  /** The role's source, or undefined when roles/NAME.ts does not exist (fine for a tag, an error for a role). */
  roleSource(name: string): Promise<RoleSource | undefined>;
  progress?(p: ApplyProgress): void;
  /** Live results (a client that asked, ApplyRequest.live): each host's start, each role's outcome, each host's report as it ends. */
  events?(e: ApplyEvent): void;
  /** Just after the master's start: wait (bounded) for the known agents this apply covers; `tell` says so (startup-wait.ts). */
  awaitKnownAgents?(req: ApplyRequest, tell: (agents: number, ms: number) => void): Promise<void>;
  /** When given, each role outcome carries the digest of its inputs (lib/history/inputs.ts), for corrective changes. */
  inputKey?: Uint8Array;
  /** The apply's own fileroot (a deploy's release): agents read it, and not the base one, while their roles run. */
  fileroot?: FileServer;
  /** With inputKey: true when a role's inputs equal those of its last successful run there; it is then not sent (a deploy's apply). */
  unchanged?(host: string, role: string, inputs: string): boolean;
  /** Several masters: for hosts missing here, the other master each is connected to (lib/master/presence.ts). */
  elsewhere?(ids: string[]): Promise<Map<string, string>>;
}

export async function runApply(req: ApplyRequest, deps: SchedulerDeps): Promise<ApplyReport> {
  const t0 = performance.now();
  await deps.awaitKnownAgents?.(req, (agents, ms) =>
    deps.progress?.({ elapsed: 0, done: 0, total: 0, waiting: { agents, ms } }),
  );
  const scope = await deps.scope(req, deps.registry.ids());
  // The known files' hashes are checked once per apply, however many hosts fetched them (fileserver.ts).
  const filesPass = crypto.randomUUID();
  // Each role file is read once per apply, however many hosts run it.
  const sources = new Map<string, Promise<RoleSource | undefined>>();
  const roleSource = (name: string) => {
    let s = sources.get(name);
    if (!s) sources.set(name, (s = deps.roleSource(name)));
    return s;
  };
  const total = scope.hosts.filter((h) => h.status === "run").length;
  const missing = scope.hosts.filter((h) => h.status === "missing").map((h) => h.id);
  const elsewhere = missing.length && deps.elsewhere ? await deps.elsewhere(missing) : undefined;
  let done = 0;
  let failed = 0;
  // The role each host runs now, for the progress line ("running: web7 role:app").
  const running = new Map<string, string>();
  const ticker =
    deps.progress &&
    setInterval(
      () =>
        deps.progress!({
          elapsed: since(t0),
          done,
          total,
          failed,
          running: [...running].slice(0, 3).map(([id, role]) => `${id} role:${role}`),
        }),
      1000,
    );
  const events = deps.events;
  try {
    const hosts = await Promise.all(
      scope.hosts.map(async (h): Promise<HostReport> => {
        if (h.status !== "run") {
          const where = elsewhere?.get(h.id);
          const report: HostReport = {
            id: h.id,
            status: h.status,
            elapsed: 0,
            errors: h.status === "missing" ? 1 : 0,
            changed: 0,
            roles: [],
            ...(where ? { connectedTo: where } : {}),
          };
          if (events && h.status !== "skipped") events({ type: "host_end", host: report });
          return report;
        }
        const report = await deps.registry.exclusive(h.id, () =>
          runHost(h, scope, req, { ...deps, roleSource, filesPass }, running),
        );
        running.delete(h.id);
        done++;
        if (report.errors > 0) failed++;
        events?.({ type: "host_end", host: report });
        return report;
      }),
    );
    const rc = hosts.some((h) => h.errors > 0) ? 1 : 0;
    return { hosts, elapsed: since(t0), rc };
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

/** `filesPass`: this apply's id for the fileroot's reads (each known file checked once). */
type HostDeps = SchedulerDeps & { filesPass: string };

async function runHost(
  h: HostScope,
  scope: ApplyScope,
  req: ApplyRequest,
  deps: HostDeps,
  running: Map<string, string>,
): Promise<HostReport> {
  const t0 = performance.now();
  deps.events?.({ type: "host_start", host: h.id });
  const session = deps.registry.get(h.id);
  const roles: RoleOutcome[] = [];
  let lost: string | undefined = session
    ? undefined
    : "connection lost (the agent disconnected before its turn)";
  session?.startApply(
    h.roles.map((r) => r.name),
    deps.fileroot,
  );
  const live =
    req.live === "roles" && deps.events && session
      ? liveResults(
          h.id,
          h.roles.map((r) => r.name),
          masker(scope.secrets?.(h.id) ?? []),
          deps.events,
        )
      : undefined;
  if (live && session) session.roleResults = (p) => live.take(p);
  // An agent that says it pipelines runs role requests one at a time in arrival order
  // (lib/agent/session.ts): all are sent at once, and it goes from one role to the
  // next without waiting for us. Another one gets them one by one.
  // The last role sent says so: after it the agent runs the handlers its roles queued (operators/handlers.ts).
  const turn = {
    apply: crypto.randomUUID(),
    last: await lastRunnable(h, deps),
    inputKey: deps.inputKey,
    unchanged: deps.unchanged,
    filesPass: deps.filesPass,
  };
  const sent = session?.can("pipelining")
    ? await sendAhead(session, h, scope, req, deps, turn)
    : new Map<number, Promise<RoleRun>>();
  let handlers: RoleOutcome | undefined;
  for (const [i, role] of h.roles.entries()) {
    if (role.skipped) {
      // A tag names hosts (getIps, `hosts`): left out, it is not a skipped role.
      if (!role.tag)
        roles.push({
          role: role.name,
          skipped: true,
          elapsed: 0,
          results: [],
          errors: 0,
          changed: 0,
        });
      continue;
    }
    const src = await deps.roleSource(role.name);
    if (!src) {
      // A tag has no file by design; a role's file was checked when scoping, so it went away since.
      if (!role.tag)
        roles.push(
          outcome(role.name, [roleFailure(role.name, `roles/${role.name}.ts not found`, 0)], 0),
        );
      continue;
    }
    if (lost || !session) {
      roles.push(outcome(role.name, [roleFailure(role.name, lost ?? "connection lost", 0)], 0));
      continue;
    }
    running.set(h.id, role.name);
    live?.current(role.name);
    const r = await (sent.get(i) ??
      (
        await sendRole(session, role.name, src, scope, req, 0, {
          apply: turn.apply,
          last: i === turn.last,
          inputKey: turn.inputKey,
          unchanged: turn.unchanged,
          filesPass: turn.filesPass,
        })
      ).done);
    if (r.lost) lost = r.lost;
    // A role cut short (connection lost, worker killed) still reports the results it streamed.
    const results = live ? live.settle(role.name, r.outcome.results) : r.outcome.results;
    const done =
      results === r.outcome.results
        ? r.outcome
        : { ...r.outcome, ...outcome(role.name, results, r.outcome.elapsed) };
    roles.push(done);
    deps.events?.({ type: "role_end", host: h.id, role: done });
    if (r.handlers) handlers = r.handlers;
  }
  if (handlers) roles.push(handlers);
  session?.endApply();
  if (live && session) session.roleResults = undefined;
  const errors = roles.reduce((n, r) => n + r.errors, 0);
  const changed = roles.reduce((n, r) => n + r.changed, 0);
  return { id: h.id, status: "ran", elapsed: since(t0), errors, changed, roles };
}

type RoleRun = { outcome: RoleOutcome; lost?: string; handlers?: RoleOutcome };

/** The index of the host's last role that will be sent (-1: none). */
async function lastRunnable(h: HostScope, deps: SchedulerDeps): Promise<number> {
  let last = -1;
  for (const [i, role] of h.roles.entries())
    if (!role.skipped && (await deps.roleSource(role.name))) last = i;
  return last;
}

type Turn = {
  apply: string;
  filesPass?: string;
  inputKey?: Uint8Array | undefined;
  unchanged?: SchedulerDeps["unchanged"];
};

/**
 * Prepare and send one role's request; `done` settles with its outcome. When
 * this resolves the request has left, so requests sent one after another
 * arrive in order; with `turn.queue`, it is queued there instead, to be sent
 * with the others in order. `before` roles were sent ahead of it and run first.
 */
async function sendRole(
  session: AgentSession,
  name: string,
  src: RoleSource,
  scope: ApplyScope,
  req: ApplyRequest,
  before: number,
  turn: Turn & { last: boolean; queue?: Array<() => void> },
): Promise<{ done: Promise<RoleRun> }> {
  const t0 = performance.now();
  const timeoutMs = req.timeoutMs ?? timing.roleTimeoutMs;
  const secrets = scope.secrets?.(session.id) ?? [];
  const mask = masker(secrets);
  const failed = (err: unknown): RoleRun => {
    session.sharedHosts.forget();
    const lostConn = err instanceof SaltyError && err.code === "E_CONN_LOST";
    const message = lostConn
      ? "connection lost"
      : (mask?.text(errorMessage(err)) ?? errorMessage(err));
    log("apply.role_failed", { id: session.id, role: name, error: message });
    return {
      outcome: outcome(name, [roleFailure(name, message, since(t0))], since(t0)),
      lost: lostConn ? message : undefined,
    };
  };
  session.roleStarted();
  try {
    const others = session.can("sharedHosts") ? scope.others : undefined;
    const context = scope.context(session.id, name, others ? { hosts: false } : {});
    // A role whose code never names them goes without the hosts; their digest stays in its inputs (its templates may read them).
    const withheld = others && session.can("hostsOnDemand") && !namesHosts(src);
    const shared = others
      ? {
          context: { ...context, hosts: {} },
          sharedHosts: withheld
            ? session.sharedHosts.withheld(others)
            : session.sharedHosts.refFor(others),
        }
      : { context };
    const known = session.can("knownFiles")
      ? await session.known.for(name, session.currentFiles, turn.filesPass)
      : undefined;
    const inputs =
      turn.inputKey &&
      inputDigest(turn.inputKey, {
        source: src.modules
          ? [
              src.source,
              ...Object.entries(src.modules)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .flat(),
            ].join("\0")
          : src.source,
        context: shared.context,
        sharedHosts: "sharedHosts" in shared ? shared.sharedHosts?.digest : undefined,
        known,
      });
    if (inputs && turn.unchanged?.(session.id, name, inputs)) {
      // Not sent: the shared hosts it would have carried are sent again with the next request.
      session.sharedHosts.forget();
      session.roleEnded();
      return {
        done: Promise.resolve({
          outcome: {
            ...outcome(name, [], 0),
            skipped: true,
            output: "inputs unchanged since its last successful run: not run",
            inputs,
          },
        }),
      };
    }
    const request = () =>
      session.rpc.call(
        "role.run",
        {
          role: name,
          source: src.source,
          filename: src.filename,
          ...(src.modules ? { modules: src.modules } : {}),
          ...shared,
          ...(known ? { known } : {}),
          ...(secrets.length ? { secrets } : {}),
          dryRun: req.dryRun,
          diff: req.diff,
          timeoutMs,
          apply: turn.apply,
          ...(turn.last ? { last: true as const } : {}),
          ...(req.live === "roles" ? { stream: true as const } : {}),
        },
        // The agent enforces the role timeout itself (and those of the roles sent before this one):
        // this margin only catches an agent that never answers.
        { timeoutMs: (before + 1) * timeoutMs + 10_000 },
      );
    const queue = turn.queue;
    const call: ReturnType<typeof request> = queue
      ? new Promise((resolve) => queue.push(() => resolve(request())))
      : request();
    const done = call.then((report): RoleRun => {
      session.known.remember(name, report?.fetched);
      // The agent masks its report; an agent is untrusted (and may be of an older build): masked again here.
      const masked = maskReport(
        {
          results: Array.isArray(report?.results) ? report.results : [],
          ...(typeof report?.output === "string" ? { output: report.output } : {}),
        },
        mask,
      );
      const handlers =
        Array.isArray(report?.handlers) && report.handlers.length
          ? maskReport({ results: report.handlers }, mask).results
          : [];
      const ran = handlers.length
        ? {
            handlers: outcome(
              "handlers",
              handlers,
              handlers.reduce((s, r) => s + (typeof r?.elapsed === "number" ? r.elapsed : 0), 0),
            ),
          }
        : {};
      return {
        outcome: {
          ...outcome(name, masked.results, report.elapsed),
          output: masked.output,
          ...(inputs ? { inputs } : {}),
        },
        ...ran,
      };
    }, failed);
    return { done: done.finally(() => session.roleEnded()) };
  } catch (err) {
    session.roleEnded();
    return { done: Promise.resolve(failed(err)) };
  }
}

/** Every runnable role of the host sent at once, in order (the agent runs them one at a time), by index in h.roles. */
async function sendAhead(
  session: AgentSession,
  h: HostScope,
  scope: ApplyScope,
  req: ApplyRequest,
  deps: SchedulerDeps,
  turn: Turn & { last: number },
): Promise<Map<number, Promise<RoleRun>>> {
  const sent = new Map<number, Promise<RoleRun>>();
  // The first one leaves at once (the agent starts on it); the others are prepared meanwhile and
  // leave together in one write: each write of its own woke the agent and cost the master
  // ~0.1 ms of CPU (docs/performance.md, fourth session).
  // A reply that comes while later requests are still being prepared says the agent ran out of work:
  // those ready leave at once (W1's agent sat idle ~2 ms for the rest of its ten).
  const queue: Array<() => void> = [];
  const flush = () => {
    if (queue.length) session.rpc.batch(() => queue.splice(0).forEach((send) => send()));
  };
  for (const [i, role] of h.roles.entries()) {
    const src = role.skipped ? undefined : await deps.roleSource(role.name);
    if (src)
      sent.set(
        i,
        (
          await sendRole(session, role.name, src, scope, req, sent.size, {
            apply: turn.apply,
            last: i === turn.last,
            inputKey: turn.inputKey,
            unchanged: turn.unchanged,
            filesPass: turn.filesPass,
            ...(sent.size ? { queue } : {}),
          })
        ).done.finally(flush),
      );
  }
  flush();
  return sent;
}

function outcome(role: string, results: Result[], elapsed: number): RoleOutcome {
  return {
    role,
    skipped: false,
    elapsed,
    results,
    errors: results.filter((r) => r.rc !== 0).length,
    changed: results.filter((r) => r.changed).length,
  };
}

function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}
