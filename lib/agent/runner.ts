// Running one role on the agent: load its module (checked, cached by content
// hash), call its default export with the operators and the context, record
// every Result in call order and what it printed. A role that fails to load,
// throws, or runs past its timeout gives one more Result with rc 1 naming the
// role file and line; the runner itself never throws. On timeout the role's
// commands are killed and its later operator calls do nothing.

import type { HostContext, Result } from "salty";
import { limits, timing } from "../constants.ts";
import { errorMessage, roleFailure } from "../errors.ts";
import { maskReport, maskResult, masker } from "../crypto/mask.ts";
import { AgentCache, CompiledTemplates } from "../operators/cache.ts";
import { runFiles } from "./file-source.ts";
import { ScanCache } from "./scan-cache.ts";
import { SharedHostsCache, refuseHosts, type HostsOnDemand } from "./shared-hosts.ts";
import { createOperators } from "../operators/index.ts";
import { PlannedWorld } from "../operators/planned.ts";
import type { Caps } from "../operators/types.ts";
import { notifyingDisk, realDisk } from "../sys/disk.ts";
import { realExec } from "../sys/exec.ts";
import { realProbe } from "../sys/probe.ts";
import { createRuntime } from "../sys/runtime.ts";
import { loadModule, lineIn, type LoadedModule } from "../sys/load-module.ts";
import { createObserve } from "../sys/observe.ts";
import { createUsers } from "../sys/users.ts";
import { walkTree } from "../sys/walk.ts";
import { WatchedTrees } from "../sys/watched-trees.ts";
import type { Disk, Exec, Users } from "../sys/types.ts";
import type { RunRoleRequest, RoleReport } from "../wire/api.ts";
import { addresses, onDemandAddresses } from "./addresses.ts";
import { failedReport } from "./failed-report.ts";
import { fileJournal } from "./handler-journal.ts";
import { HostState } from "../operators/handlers.ts";
import type { RoleCaps } from "./session.ts";

export interface RunRoleOptions {
  name: string;
  source: string;
  /** For messages: "roles/nginx.ts". */
  filename: string;
  /** The roles/lib/ modules it may import (RunRoleRequest.modules). */
  modules?: Record<string, string>;
  context: HostContext;
  caps: Caps;
  timeoutMs?: number;
  /** A dry run's planned world carried over from the host's earlier roles of the same apply. */
  planned?: PlannedWorld;
  /** Secret values to mask in the report (RunRoleRequest.secrets). */
  secrets?: string[];
  /** Each result as soon as its call ends, masked as the report will be (RunRoleRequest.stream). */
  onResult?: (r: Result) => void;
  /** Sent without the shared hosts (its code does not name them): its templates load them, the role may not read them. */
  onDemand?: HostsOnDemand;
}

export interface RoleRun extends RoleReport {
  /** 1 when any result failed. */
  rc: number;
}

class Timeout extends Error {}

function elapsedSince(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1e6;
}

async function callRole(
  fn: unknown,
  args: object,
  timeoutMs: number,
  abort: AbortController,
): Promise<void> {
  if (typeof fn !== "function") throw new TypeError("the default export is not a function");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const running = Promise.resolve().then(() => fn(args));
  running.catch(() => {}); // past the timeout nobody awaits it any more
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Timeout(`timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
  try {
    await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runRole(o: RunRoleOptions): Promise<RoleRun> {
  const start = performance.now();
  const abort = new AbortController();
  const onResult =
    o.onResult &&
    (
      (m) => (r: Result) =>
        o.onResult!(maskResult(r, m))
    )(masker(o.secrets));
  const { operators, context, results, output } = createOperators(o.caps, o.context, {
    addresses: o.onDemand
      ? onDemandAddresses(o.context, o.onDemand, o.filename)
      : addresses(o.context),
    ...(o.onDemand ? { loadHosts: o.onDemand.load } : {}),
    signal: abort.signal,
    ...(o.planned ? { planned: o.planned } : {}),
    ...(onResult ? { onResult } : {}),
  });
  let mod: LoadedModule | undefined;
  let failure: string | undefined;
  try {
    mod = await loadModule(o.source, {
      filename: o.filename,
      code: "E_MODULE",
      ...(o.modules ? { modules: o.modules } : {}),
    });
    const args = { ...context, ...operators };
    if (o.onDemand) refuseHosts(args, o.filename);
    await callRole(mod.namespace.default, args, o.timeoutMs ?? timing.roleTimeoutMs, abort);
  } catch (err) {
    if (!mod)
      failure = errorMessage(err); // already "file:line: ..."
    else if (err instanceof Timeout) failure = `${o.filename}: ${err.message}`;
    else failure = `${lineIn(err, mod, o.filename)}: ${errorMessage(err)}`;
  }
  const all: Result[] = [...results];
  if (failure !== undefined) all.push(roleFailure(o.name, failure, elapsedSince(start)));
  // Nothing the run reports shows a secret value: results, what it printed, the role's own error.
  const report = maskReport(
    { results: all, ...(output.length ? { output: output.join("\n") } : {}) },
    masker(o.secrets),
  );
  return {
    role: o.name,
    ...report,
    elapsed: elapsedSince(start),
    rc: all.some((r) => r.rc !== 0) ? 1 : 0,
  };
}

/** `disk` and `exec` that make `trees` forget the walks of what they change, and every walk once a command has run. */
export function forgetting(
  trees: Pick<WatchedTrees<unknown>, "forget">,
  ports: { disk: Disk; exec: Exec },
): { disk: Disk; exec: Exec } {
  return {
    disk: notifyingDisk(ports.disk, (path) => trees.forget(path)),
    exec: (argv, o) => ports.exec(argv, o).finally(() => trees.forget()),
  };
}

/** Compiled templates, shared by this thread's executors (one in an agent; many simulated agents in a benchmark's process). */
const templates = new CompiledTemplates();
/** The system's users and groups, likewise (made by the first executor): one host's /etc/passwd, looked at once a second at most. */
let users: Users | undefined;

/** The agent's role executor: real disk, users and processes, one cache for the life of the process. */
export function createExecutor(opts: {
  pathPrefix: string;
  keyroot?: string;
}): (req: RunRoleRequest, caps: RoleCaps) => Promise<RoleRun> {
  const cache = new AgentCache(templates);
  // Handlers queued by roles run after the host's last role; owed ones are journaled in the keyroot.
  const host = new HostState(opts.keyroot ? fileJournal(opts.keyroot) : undefined);
  // Syncdir destinations are watched between applies, so an unchanged one is not walked again;
  // what this agent writes makes the trees it lies in walked afresh, and a command it runs all of them
  // (inotify reports late).
  const trees = new WatchedTrees((real) => walkTree(real));
  const observe = createObserve(cache.hashes, (dir) => trees.get(dir));
  const local = {
    observe,
    ...forgetting(trees, { disk: realDisk, exec: realExec }),
    users: (users ??= createUsers()),
    probe: realProbe,
    runtime: createRuntime({ gcEveryBytes: limits.gcEveryReceivedBytes }),
    cache,
    pathPrefix: opts.pathPrefix,
  };
  const shared = new SharedHostsCache();
  // Kept for the executor's life (the role worker's): an unchanged source crosses neither the wire nor the thread boundary.
  const scans = new ScanCache();
  // The planned world of the dry run in progress, kept from one role to the next of the same apply (req.apply).
  let dry: { id: string; world: PlannedWorld } | undefined;
  const plannedFor = (req: RunRoleRequest): PlannedWorld | undefined => {
    if (!req.dryRun || !req.apply) return (dry = undefined);
    if (dry?.id !== req.apply) dry = { id: req.apply, world: new PlannedWorld(local) };
    return dry.world;
  };
  return async (request, rc) => {
    let req: ReturnType<SharedHostsCache["expand"]>;
    try {
      req = shared.expand(request, rc.sharedHosts);
    } catch (err) {
      const error = `role(${request.role}): ${errorMessage(err)}`;
      return { ...failedReport(request.role, error), rc: 1 };
    }
    // The master's files through the scan cache and the hashes this role fetched last time (agent/file-source.ts).
    const files = runFiles(rc.files, scans, req.known);
    const planned = plannedFor(req);
    host.begin(req.apply);
    const run = await runRole({
      ...(planned ? { planned } : {}),
      name: req.role,
      source: req.source,
      filename: req.filename,
      ...(modulesOf(req.modules) ? { modules: modulesOf(req.modules)! } : {}),
      context: req.context,
      timeoutMs: req.timeoutMs,
      ...(Array.isArray(req.secrets) ? { secrets: req.secrets } : {}),
      caps: {
        ...local,
        host,
        files,
        serverShell: rc.serverShell,
        dryRun: req.dryRun,
        diff: req.diff,
      },
      ...(req.stream && rc.result ? { onResult: rc.result } : {}),
      ...(req.onDemand ? { onDemand: req.onDemand } : {}),
    });
    const handlers = req.last
      ? maskReport(
          { results: await runHandlers(host, local.exec, req.dryRun) },
          masker(req.secrets),
        ).results
      : [];
    return { ...run, fetched: files.fetched(), ...(handlers.length ? { handlers } : {}) };
  };
}

/** After the host's last role: what is queued or owed runs now (nothing to do costs nothing). */
async function runHandlers(host: HostState, exec: Exec, dryRun: boolean): Promise<Result[]> {
  try {
    if (await host.handlers.idle(dryRun)) return [];
    return await host.handlers.run(exec, dryRun);
  } catch (err) {
    return [
      {
        cmd: "handlers",
        rc: 1,
        changed: false,
        elapsed: 0,
        error: `handlers: ${errorMessage(err)}`,
      },
    ];
  }
}

/** The request's modules when they are what the master sends (fileroot paths under roles/lib/ to text); anything else is left out (the role's import check then names what is missing). */
function modulesOf(m: unknown): Record<string, string> | undefined {
  if (!m || typeof m !== "object" || Array.isArray(m)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m))
    if (
      typeof v === "string" &&
      k.startsWith("roles/lib/") &&
      !k.split("/").includes("..") &&
      k.endsWith(".ts")
    )
      out[k] = v;
  return Object.keys(out).length ? out : undefined;
}
