// The agent's RoleExecutor: roles run in a worker thread (role-worker.ts), so
// the connection keeps answering pings while a role works, and a role that
// never yields (a synchronous infinite loop) is stopped by terminating the
// worker when its timeout has passed.
//
// Role requests are passed on to the worker as they arrive and it runs them
// one at a time, in that order: the next role starts as soon as one ends,
// without a round trip through this thread (~0.4 ms a role). Only the running
// role (the head of the queue) has a timer. When the worker is stopped or
// crashes, the running role fails and the roles queued behind it, which never
// started, go to a new worker.
//
// The worker asks for files and serverShell through messages answered here.
// An idle agent gives memory back: garbage is collected in both threads after
// timing.idleGcMs without a role, and the worker itself, with its caches, is
// stopped after timing.workerIdleMs (the next role starts a new one).

import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import type { RoleReport, RunRoleRequest } from "../wire/api.ts";
import type { RoleCaps, RoleExecutor } from "./session.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";
import type { ReadRange } from "../operators/file-source.ts";
import { failedReport } from "./failed-report.ts";

/** In a compiled binary the worker is an embedded entrypoint named from the project root. */
const WORKER_URL = import.meta.url.includes("/$bunfs/") ? "./lib/agent/role-worker.ts" : new URL("./role-worker.ts", import.meta.url).href;

/** How long past its own timeout a role may take before its worker is killed. */
const GRACE_MS = 2_000;

interface Run {
  id: number;
  req: RunRoleRequest;
  caps: RoleCaps;
  resolve: (r: RoleReport) => void;
  /** Set once the run is at the head of the queue, i.e. running. */
  started?: number;
  timer?: ReturnType<typeof setTimeout>;
}

export function createWorkerExecutor(opts: { pathPrefix: string }): RoleExecutor & { close(): void } {
  let worker: Worker | undefined;
  let nextRun = 1;
  /** Runs sent to the current worker, in order; the first is running. */
  const queue: Run[] = [];
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
      if (!worker || queue.length) return;
      log("agent.worker_released", { idleMs: timing.workerIdleMs });
      worker.terminate();
      worker = undefined;
      // Once the thread is gone (termination is asynchronous): collect, and hand the heap's free pages back.
      // Bun.shrink() is deprecated but is the only call that does the latter (~1.3 MB of 11 here).
      setTimeout(() => {
        Bun.gc(true);
        Bun.shrink();
      }, 200).unref();
    }, timing.workerIdleMs);
    // The agent's connection keeps it alive; these never should (bootstrap, tests).
    gc.unref();
    release.unref();
    idle = [gc, release];
  };

  const send = (w: Worker, msg: ToWorker, transfer: ArrayBuffer[] = []) => w.postMessage(msg, transfer);

  const start = (): Worker => {
    const w = new Worker(WORKER_URL);
    w.onmessage = (e: MessageEvent<ToMain>) => onMessage(w, e.data);
    w.onerror = (e) => {
      log("agent.worker_error", { error: e.message });
      if (worker === w) lose(`the role worker crashed: ${e.message}`);
    };
    send(w, { type: "init", pathPrefix: opts.pathPrefix });
    return w;
  };

  /** The head of the queue is running from now on: arm its timer. */
  const begin = (run: Run) => {
    run.started = performance.now();
    run.timer = setTimeout(() => {
      log("agent.role_killed", { role: run.req.role, timeoutMs: run.req.timeoutMs });
      lose(`${run.req.filename}: timed out after ${run.req.timeoutMs / 1000}s (the role did not yield; it was stopped)`);
    }, run.req.timeoutMs + GRACE_MS);
  };

  const finish = (run: Run, report: RoleReport) => {
    clearTimeout(run.timer);
    queue.splice(queue.indexOf(run), 1);
    run.resolve(report);
  };

  /** Stop the worker: the running role fails with `why`, the ones queued behind it go to a new worker. */
  const lose = (why: string) => {
    worker?.terminate();
    worker = undefined;
    const head = queue[0];
    if (head) finish(head, failedReport(head.req.role, why, ranFor(head)));
    if (!queue.length) return;
    const w = (worker = start());
    for (const run of queue) send(w, { type: "run", runId: run.id, req: run.req });
    begin(queue[0]!);
  };

  const onMessage = (w: Worker, msg: ToMain) => {
    if (w !== worker) return; // a stopped worker's last words
    const run = queue.find((r) => r.id === msg.runId);
    if (msg.type === "done") {
      if (!run) return;
      finish(run, msg.report);
      if (queue[0]) begin(queue[0]);
      else startIdleTimers();
      return;
    }
    if (!run) return send(w, { type: "reply", id: msg.id, ok: false, error: { message: "that role run is over", code: "E_NO_RUN" } });
    serve(run.caps, msg.method, msg.args).then(
      (value) => {
        const { moved, transfer } = movable(value);
        send(w, { type: "reply", id: msg.id, ok: true, value: moved }, transfer);
      },
      (err) => send(w, { type: "reply", id: msg.id, ok: false, error: { message: errorMessage(err), code: err instanceof SaltyError ? err.code : "E_REMOTE" } }),
    );
  };

  const execute = (req: RunRoleRequest, caps: RoleCaps): Promise<RoleReport> => {
    stopIdleTimers();
    worker ??= start();
    return new Promise<RoleReport>((resolve) => {
      const run: Run = { id: nextRun++, req, caps, resolve };
      queue.push(run);
      send(worker!, { type: "run", runId: run.id, req });
      if (queue.length === 1) begin(run);
    });
  };

  return Object.assign(execute, {
    inOrder: true as const,
    close() {
      stopIdleTimers();
      worker?.terminate();
      worker = undefined;
      for (const run of [...queue]) finish(run, failedReport(run.req.role, "the agent is stopping", ranFor(run)));
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

/**
 * File content (read, readMany) is moved to the worker, not cloned: cloning
 * copied ~0.5 GB/s here, 200 ms of a 100 MB transfer. What the connection hands
 * us may be views into buffers shared with other data, so it is first copied
 * into one new buffer (a plain memcpy), which is then transferred.
 */
function movable(value: unknown): { moved: unknown; transfer: ArrayBuffer[] } {
  const parts = value instanceof Uint8Array ? [value] : Array.isArray(value) && value.every((v) => v instanceof Uint8Array) ? (value as Uint8Array[]) : undefined;
  if (!parts?.length) return { moved: value, transfer: [] };
  const buffer = new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  const views = parts.map((p) => {
    const view = new Uint8Array(buffer, at, p.length);
    view.set(p);
    at += p.length;
    return view;
  });
  return { moved: value instanceof Uint8Array ? views[0] : views, transfer: [buffer] };
}

/** One request when the connection offers it, else a read each. */
function readMany(caps: RoleCaps, reads: ReadRange[]): Promise<Uint8Array[]> {
  if (caps.files.readMany) return caps.files.readMany(reads);
  return Promise.all(reads.map((r) => caps.files.read(r.path, r.offset, r.length)));
}

/** Seconds the run has been running; 0 for one that never started. */
function ranFor(run: Run): number {
  return run.started ? (performance.now() - run.started) / 1000 : 0;
}
