// A rollout: an apply in batches with one failure budget (batch=, max_fail=,
// gate=, pause=; lib/inventory/rollout.ts). It plans once, then calls the
// scheduler's runApply on each batch's hosts in turn; after a host's apply its
// gate runs on it through the ad-hoc path (adhoc-run.ts) and a failed gate
// fails the host. Once the budget is spent no batch starts (the hosts of the
// running batch finish); the rest are listed as never attempted, and
// `salty apply --resume JOB` runs them later with the job's own arguments.
// The scheduler knows nothing of batches. A deploy calls runRollout with its
// apply request and batch options.

import { timing } from "../constants.ts";
import { SaltyError, UsageError } from "../errors.ts";
import { parseApplyArgs } from "../inventory/args.ts";
import { batches, FailureBudget, type RolloutOptions } from "../inventory/rollout.ts";
import type { JobRecord } from "../history/types.ts";
import type {
  ApplyEvent,
  ApplyReport,
  ApplyRequest,
  BatchProgress,
  HostReport,
  RoleOutcome,
  RolloutSummary,
  RunHostEnd,
} from "../wire/api.ts";
import { runOn } from "./adhoc-run.ts";
import { runApply, type ApplyScope, type HostScope, type SchedulerDeps } from "./scheduler.ts";
import { StreamMask } from "./stream-mask.ts";

/** Which of the planned hosts this rollout may run (a resume: the hosts its job never attempted), and the job it resumes. */
export interface RolloutScope {
  only?: ReadonlySet<string>;
  resumeOf?: string;
}

/** The role name a gate's outcome is reported under (no roles/NAME.ts can be named so). */
export const GATE_ROLE = "(gate)";

/** An apply, or a rollout when its arguments or scope make it one. */
export function applyOrRollout(
  req: ApplyRequest,
  deps: SchedulerDeps,
  scope: RolloutScope = {},
): Promise<ApplyReport> {
  const opts = parseApplyArgs(req.args).rollout;
  if (!opts && !scope.only) return runApply(req, deps);
  return runRollout(
    req,
    opts ?? {
      batch: [{ pct: 100 }],
      maxFail: { n: 1 },
      gateTimeoutMs: 0,
      gateRetries: 0,
      pauseMs: 0,
    },
    deps,
    scope,
  );
}

export async function runRollout(
  req: ApplyRequest,
  opts: RolloutOptions,
  deps: SchedulerDeps,
  scope: RolloutScope = {},
): Promise<ApplyReport> {
  const t0 = performance.now();
  await deps.awaitKnownAgents?.(req, (agents, ms) =>
    deps.progress?.({ elapsed: 0, done: 0, total: 0, waiting: { agents, ms } }),
  );
  const applyScope = await deps.scope(req, deps.registry.ids());
  const inScope = (h: HostScope) => !scope.only || scope.only.has(h.id);
  const toRun = applyScope.hosts.filter((h) => h.status === "run" && inScope(h)).map((h) => h.id);
  // Hosts that do not run: reported once, with the first batch (missing ones as missing); outside the scope: skipped.
  const others = applyScope.hosts
    .filter((h) => h.status !== "run" || !inScope(h))
    .map((h): HostScope => (inScope(h) ? h : { ...h, status: "skipped" }));
  const waves = batches(toRun, opts.batch);
  const budget = new FailureBudget(opts.maxFail, toRun.length);
  const summary: RolloutSummary = {
    planned: waves.length,
    batches: [],
    budget: budget.max,
    spent: 0,
    failed: [],
    neverAttempted: [],
    missing: others.filter((h) => h.status === "missing").map((h) => h.id),
    ...(opts.gate ? { gate: opts.gate } : {}),
    ...(scope.resumeOf ? { resumeOf: scope.resumeOf } : {}),
  };
  const reports = new Map<string, HostReport>();
  let done = 0;
  const gated = opts.gate && !req.dryRun ? opts.gate : undefined;
  for (let i = 0; i < Math.max(1, waves.length); i++) {
    const wave = waves[i] ?? [];
    if (i > 0 && budget.exhausted) {
      summary.neverAttempted = waves.slice(i).flat();
      summary.stopped = `the failure budget is spent (${budget.spent} of max_fail ${budget.max} hosts failed): ${summary.neverAttempted.length} host${summary.neverAttempted.length === 1 ? "" : "s"} never attempted`;
      break;
    }
    const inWave = new Set(wave);
    const failedHere: string[] = [];
    const batch = (): BatchProgress => ({
      n: i + 1,
      of: waves.length,
      hosts: wave.length,
      failed: failedHere.length,
      spent: budget.spent,
      budget: budget.max,
    });
    if (i > 0 && opts.pauseMs > 0 && !req.dryRun) {
      // The progress line counts the pause down, once a second.
      for (let left = opts.pauseMs; left > 0; left -= 1000) {
        deps.progress?.({
          elapsed: since(t0),
          done,
          total: toRun.length,
          failed: budget.spent,
          batch: { ...batch(), startsIn: Math.ceil(left / 1000) },
        });
        await Bun.sleep(Math.min(left, 1000));
      }
    }
    if (wave.length)
      deps.events?.({ type: "batch_start", batch: i + 1, of: waves.length, hosts: wave });
    deps.progress?.({
      elapsed: since(t0),
      done,
      total: toRun.length,
      failed: budget.spent,
      batch: batch(),
    });
    const gates: Promise<void>[] = [];
    const events = (e: ApplyEvent) => {
      if (
        gated &&
        e.type === "host_end" &&
        e.host.status === "ran" &&
        e.host.errors === 0 &&
        inWave.has(e.host.id)
      ) {
        // The host's end waits for its gate: a client printing hosts as they end sees the gate's verdict in the block.
        gates.push(
          runGate(e.host, gated, opts, applyScope, deps).then(
            (gate) => (
              deps.events?.({ type: "role_end", host: e.host.id, role: gate }), deps.events?.(e)
            ),
          ),
        );
      } else deps.events?.(e);
    };
    const report = await runApply(req, {
      ...deps,
      awaitKnownAgents: undefined,
      scope: async (): Promise<ApplyScope> => ({
        ...applyScope,
        hosts: [...applyScope.hosts.filter((h) => inWave.has(h.id)), ...(i === 0 ? others : [])],
      }),
      events,
      ...(deps.progress
        ? {
            progress: (p) =>
              deps.progress!({
                ...p,
                elapsed: since(t0),
                done: done + p.done,
                total: toRun.length,
                failed: budget.spent + (p.failed ?? 0),
                batch: batch(),
              }),
          }
        : {}),
    });
    await Promise.all(gates);
    for (const h of report.hosts) {
      reports.set(h.id, h);
      if (inWave.has(h.id) && h.errors > 0) {
        failedHere.push(h.id);
        budget.fail(h.id);
      }
    }
    done += wave.length;
    summary.batches.push({ hosts: wave, failed: failedHere });
    summary.failed = [...budget.hosts];
    summary.spent = budget.spent;
    const last = i + 1 >= waves.length;
    const stopping =
      !last && budget.exhausted
        ? { stopped: `failure budget spent (${budget.spent}/${budget.max})` }
        : {};
    if (wave.length)
      deps.events?.({
        type: "batch_end",
        batch: i + 1,
        of: waves.length,
        failed: failedHere,
        spent: budget.spent,
        budget: budget.max,
        ...stopping,
      });
  }
  const hosts = applyScope.hosts
    .map((h) => reports.get(h.id))
    .filter((h): h is HostReport => h !== undefined);
  const rc = hosts.some((h) => h.errors > 0) || summary.neverAttempted.length > 0 ? 1 : 0;
  return { hosts, elapsed: since(t0), rc, rollout: summary };
}

/** The gate on one host, tried 1 + gate_retries times; its outcome is added to the host's report (a failure fails the host). */
async function runGate(
  host: HostReport,
  cmd: string,
  opts: RolloutOptions,
  applyScope: ApplyScope,
  deps: SchedulerDeps,
): Promise<RoleOutcome> {
  const t0 = performance.now();
  let end: RunHostEnd = {
    id: host.id,
    status: "not connected",
    rc: 1,
    elapsed: 0,
    error: "not connected",
  };
  let attempts = 0;
  for (; attempts <= opts.gateRetries; attempts++) {
    if (attempts > 0) await Bun.sleep(timing.gateRetryMs);
    const session = deps.registry.get(host.id);
    if (!session)
      end = {
        id: host.id,
        status: "not connected",
        rc: 1,
        elapsed: 0,
        error: "the agent is not connected",
      };
    else
      end = await runOn(
        session,
        {
          target: host.id,
          argv: [cmd],
          shell: true,
          timeoutMs: opts.gateTimeoutMs,
          env: { SALTY_HOST: host.id },
        },
        new StreamMask(applyScope.secrets?.(host.id) ?? []),
        () => {},
      );
    if (end.status === "ran" && end.rc === 0) break;
    if (end.status === "refused") break; // --no-remote-exec: asking again cannot help
  }
  const ok = end.status === "ran" && end.rc === 0;
  const tries = Math.min(attempts + 1, opts.gateRetries + 1);
  const output = end.output ? end.output.slice(-4000) : undefined;
  const why = ok
    ? undefined
    : end.status === "ran"
      ? `gate failed: rc ${end.rc}${end.cut ? " (output cut)" : ""} after ${tries} attempt${tries === 1 ? "" : "s"}`
      : `gate did not run: ${end.status}${end.error ? `: ${end.error}` : ""}`;
  const elapsed = since(t0);
  const result = {
    cmd: `gate(${cmd.slice(0, 200)})`,
    rc: ok ? 0 : end.rc || 1,
    changed: false,
    elapsed,
    ...(output ? { output } : {}),
    ...(why ? { error: why } : {}),
  };
  const outcome: RoleOutcome = {
    role: GATE_ROLE,
    skipped: false,
    elapsed,
    results: [result],
    errors: ok ? 0 : 1,
    changed: 0,
  };
  host.roles.push(outcome);
  host.errors += outcome.errors;
  host.elapsed += elapsed;
  return outcome;
}

/** What `salty apply --resume JOB` runs: the job's arguments, on the hosts it never attempted (and failed and missing ones with retryFailed). */
export async function resumeScope(
  req: ApplyRequest,
  find: (id: string) => Promise<JobRecord | undefined>,
): Promise<{ req: ApplyRequest; scope: RolloutScope }> {
  const { job: id, retryFailed } = req.resume!;
  const job = await find(id);
  if (!job) throw new SaltyError(`no job ${id} in the history (see salty jobs)`, "E_NOT_FOUND");
  if (job.status === "running")
    throw new UsageError(
      `job ${id} is still running: resume it when it has ended (salty jobs follow ${id})`,
    );
  const r = job.rollout;
  if (!r)
    throw new UsageError(
      `job ${id} is not a rollout (no batch=, max_fail= or gate=): apply again instead`,
    );
  const only = new Set([...r.neverAttempted, ...(retryFailed ? [...r.failed, ...r.missing] : [])]);
  if (only.size === 0) {
    const more =
      !retryFailed && r.failed.length + r.missing.length > 0
        ? `; --retry-failed runs its ${r.failed.length + r.missing.length} failed or missing hosts again`
        : "";
    throw new UsageError(`job ${id} left no host unattempted${more}`);
  }
  const { resume: _, ...rest } = req;
  return { req: { ...rest, args: [...job.args] }, scope: { only, resumeOf: id } };
}

function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}
