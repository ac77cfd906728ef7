// The agent's RoleExecutor: roles run in a worker thread (role-worker.ts), so
// the connection keeps answering pings while a role works, and a role that
// never yields (a synchronous infinite loop) is stopped by terminating the
// worker when its timeout has passed. The next role gets a fresh worker.
// The worker asks for files and serverShell through messages answered here.
// An idle agent gives memory back: garbage is collected in both threads after
// timing.idleGcMs without a role, and the worker itself, with its caches, is
// stopped after timing.workerIdleMs (the next role starts a new one).

import type { Result } from "salty";
import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import type { RoleReport, RunRoleRequest } from "../wire/api.ts";
import type { RoleCaps, RoleExecutor } from "./session.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";
import type { ReadRange } from "../operators/file-source.ts";

/** In a compiled binary the worker is an embedded entrypoint named from the project root. */
const WORKER_URL = import.meta.url.includes("/$bunfs/") ? "./lib/agent/role-worker.ts" : new URL("./role-worker.ts", import.meta.url).href;

/** How long past its own timeout a role may take before its worker is killed. */
const GRACE_MS = 2_000;

interface Run {
  caps: RoleCaps;
  resolve: (r: RoleReport) => void;
}

export function createWorkerExecutor(opts: { pathPrefix: string }): RoleExecutor & { close(): void } {
  let worker: Worker | undefined;
  let nextRun = 1;
  const runs = new Map<number, Run>();
  let idle: ReturnType<typeof setTimeout>[] = [];

  const stopIdleTimers = () => {
    for (const t of idle) clearTimeout(t);
    idle = [];
  };

  /** After the last run: collect garbage soon, stop the worker later, unless another role comes first. */
  const startIdleTimers = () => {
    stopIdleTimers();
    const gc = setTimeout(() => {
      if (worker) send(worker, { type: "gc" });
      Bun.gc(true);
    }, timing.idleGcMs);
    const release = setTimeout(() => {
      if (!worker || runs.size) return;
      log("agent.worker_released", { idleMs: timing.workerIdleMs });
      worker.terminate();
      worker = undefined;
      Bun.gc(true);
    }, timing.workerIdleMs);
    // The agent's connection keeps it alive; these never should (bootstrap, tests).
    gc.unref();
    release.unref();
    idle = [gc, release];
  };

  const failAll = (why: string) => {
    for (const [runId, run] of runs) {
      runs.delete(runId);
      run.resolve(failedReport("?", why, 0));
    }
  };

  const start = (): Worker => {
    const w = new Worker(WORKER_URL);
    w.onmessage = (e: MessageEvent<ToMain>) => onMessage(w, e.data);
    w.onerror = (e) => {
      log("agent.worker_error", { error: e.message });
      if (worker === w) worker = undefined;
      w.terminate();
      failAll(`the role worker crashed: ${e.message}`);
    };
    send(w, { type: "init", pathPrefix: opts.pathPrefix });
    return w;
  };

  const send = (w: Worker, msg: ToWorker) => w.postMessage(msg);

  const onMessage = (w: Worker, msg: ToMain) => {
    if (msg.type === "done") {
      const run = runs.get(msg.runId);
      runs.delete(msg.runId);
      run?.resolve(msg.report);
      if (runs.size === 0) startIdleTimers();
      return;
    }
    const run = runs.get(msg.runId);
    if (!run) return send(w, { type: "reply", id: msg.id, ok: false, error: { message: "that role run is over", code: "E_NO_RUN" } });
    serve(run.caps, msg.method, msg.args).then(
      (value) => send(w, { type: "reply", id: msg.id, ok: true, value }),
      (err) => send(w, { type: "reply", id: msg.id, ok: false, error: { message: errorMessage(err), code: err instanceof SaltyError ? err.code : "E_REMOTE" } }),
    );
  };

  const execute = (req: RunRoleRequest, caps: RoleCaps): Promise<RoleReport> => {
    stopIdleTimers();
    worker ??= start();
    const w = worker;
    const runId = nextRun++;
    const started = performance.now();
    return new Promise<RoleReport>((resolve) => {
      const timer = setTimeout(() => {
        if (!runs.has(runId)) return;
        runs.delete(runId);
        log("agent.role_killed", { role: req.role, timeoutMs: req.timeoutMs });
        if (worker === w) worker = undefined;
        w.terminate();
        failAll("its role worker was stopped: another role did not yield");
        resolve(failedReport(req.role, `${req.filename}: timed out after ${req.timeoutMs / 1000}s (the role did not yield; it was stopped)`, started));
      }, req.timeoutMs + GRACE_MS);
      runs.set(runId, { caps, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      send(w, { type: "run", runId, req });
    });
  };

  return Object.assign(execute, {
    close() {
      stopIdleTimers();
      worker?.terminate();
      worker = undefined;
      failAll("the agent is stopping");
    },
  });
}

function serve(caps: RoleCaps, method: ToMain & { type: "call" } extends { method: infer M } ? M : never, args: unknown[]): Promise<unknown> {
  switch (method) {
    case "fetch":
      return caps.files.fetch(args[0] as string, args[1] as string | undefined);
    case "scan":
      return caps.files.scan(args[0] as string);
    case "scanSince":
      if (caps.files.scanSince) return caps.files.scanSince(args[0] as string, args[1] as string);
      return caps.files.scan(args[0] as string).then((entries) => ({ digest: "", entries }));
    case "read":
      return caps.files.read(args[0] as string, args[1] as number, args[2] as number);
    case "readMany":
      return readMany(caps, args[0] as ReadRange[]);
    case "serverShell":
      return caps.serverShell(args[0] as Parameters<RoleCaps["serverShell"]>[0]);
  }
}

/** One request when the connection offers it, else a read each. */
function readMany(caps: RoleCaps, reads: ReadRange[]): Promise<Uint8Array[]> {
  if (caps.files.readMany) return caps.files.readMany(reads);
  return Promise.all(reads.map((r) => caps.files.read(r.path, r.offset, r.length)));
}

function failedReport(role: string, error: string, started: number): RoleReport {
  const elapsed = started ? (performance.now() - started) / 1000 : 0;
  const result: Result = { cmd: `role(${role})`, rc: 1, changed: false, elapsed, error };
  return { role, elapsed, results: [result] };
}
