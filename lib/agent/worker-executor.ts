// The agent's RoleExecutor: roles run in a worker thread (role-worker.ts), so
// the connection keeps answering pings while a role works, and a role that
// never yields (a synchronous infinite loop) is stopped by terminating the
// worker when its timeout has passed.
//
// Role requests are passed on to the worker as they arrive and it runs them
// one at a time, in that order: the next role starts as soon as one ends,
// without a round trip through this thread. Only the running
// role (the head of the queue) has a timer. When the worker is stopped or
// crashes, the running role fails and the roles queued behind it, which never
// started, go to a new worker.
//
// A request that arrives as bytes (agent/role-request.ts) is moved to the
// worker, which decodes it; only its head is read on this thread.
//
// The worker asks for files, serverShell and shared hosts through messages answered here.
// An idle agent gives memory back: garbage is collected in both threads after
// timing.idleGcMs without a role, and the worker itself, with its caches, is
// stopped after timing.workerIdleMs (the next role starts a new one).

import { SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { timing } from "../constants.ts";
import type { RoleReport, RunRoleRequest } from "../wire/api.ts";
import type { RoleCaps, RoleExecutor } from "./session.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";
import { callFile, isFileMethod } from "../wire/file-methods.ts";
import { failedReport } from "./failed-report.ts";
import { isPacked, type PackedRoleRequest } from "./role-request.ts";

declare const SALTY_COMMIT: string | undefined;

/**
 * In the executable (the build defines SALTY_COMMIT) the worker is an embedded entrypoint named from the
 * project root; from source, the file beside this one. Decided at build time: in the executable's
 * CommonJS bundle import.meta.url would be the build machine's path, and this leaves it out.
 */
const WORKER_URL =
  typeof SALTY_COMMIT === "string"
    ? "./lib/agent/role-worker.ts"
    : new URL("./role-worker.ts", import.meta.url).href;

/** How long past its own timeout a role may take before its worker is killed. */
const GRACE_MS = 2_000;

interface Run {
  id: number;
  req: RunRoleRequest | PackedRoleRequest;
  caps: RoleCaps;
  resolve: (r: RoleReport) => void;
  /** Set once the run is at the head of the queue, i.e. running. */
  started?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Garbage collection soon after the last run, the worker's release later; both cancelled by the next run. */
class IdleTimers {
  private timers: ReturnType<typeof setTimeout>[] = [];

  constructor(
    private readonly onGc: () => void,
    private readonly onRelease: () => void,
  ) {}

  start(): void {
    this.stop();
    // The agent's connection keeps the process alive; these never should (bootstrap, tests).
    this.timers = [
      setTimeout(this.onGc, timing.idleGcMs),
      setTimeout(this.onRelease, timing.workerIdleMs),
    ];
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}

/** The role worker and the runs sent to it, in order; the first of `queue` is running. */
class WorkerExecutor {
  private worker: Worker | undefined;
  private nextRun = 1;
  private readonly queue: Run[] = [];
  private readonly idle = new IdleTimers(
    () => this.collect(),
    () => this.release(),
  );

  constructor(private readonly opts: { pathPrefix: string; keyroot?: string }) {}

  execute(req: RunRoleRequest | PackedRoleRequest, caps: RoleCaps): Promise<RoleReport> {
    this.idle.stop();
    const worker = (this.worker ??= this.start());
    return new Promise<RoleReport>((resolve) => {
      const run: Run = { id: this.nextRun++, req, caps, resolve };
      this.queue.push(run);
      sendRun(worker, run);
      if (this.queue.length === 1) this.begin(run);
    });
  }

  close(): void {
    this.idle.stop();
    this.worker?.terminate();
    this.worker = undefined;
    for (const run of [...this.queue])
      this.finish(run, failedReport(run.req.role, "the agent is stopping", ranFor(run)));
  }

  private start(): Worker {
    const w = new Worker(WORKER_URL);
    w.onmessage = (e: MessageEvent<ToMain>) => this.onMessage(w, e.data);
    w.onerror = (e) => {
      log("agent.worker_error", { error: e.message });
      if (this.worker === w) this.lose(`the role worker crashed: ${e.message}`);
    };
    send(w, {
      type: "init",
      pathPrefix: this.opts.pathPrefix,
      ...(this.opts.keyroot ? { keyroot: this.opts.keyroot } : {}),
    });
    return w;
  }

  /** The head of the queue is running from now on: arm its timer. */
  private begin(run: Run): void {
    run.started = performance.now();
    run.timer = setTimeout(() => {
      log("agent.role_killed", { role: run.req.role, timeoutMs: run.req.timeoutMs });
      this.lose(
        `${run.req.filename}: timed out after ${run.req.timeoutMs / 1000}s (the role did not yield; it was stopped)`,
      );
    }, run.req.timeoutMs + GRACE_MS);
  }

  private finish(run: Run, report: RoleReport): void {
    clearTimeout(run.timer);
    this.queue.splice(this.queue.indexOf(run), 1);
    run.resolve(report);
  }

  /** Stop the worker: the running role fails with `why`, the ones queued behind it go to a new worker. */
  private lose(why: string): void {
    this.worker?.terminate();
    this.worker = undefined;
    const head = this.queue[0];
    if (head) this.finish(head, failedReport(head.req.role, why, ranFor(head)));
    if (!this.queue.length) return;
    const w = (this.worker = this.start());
    for (const run of this.queue) sendRun(w, run);
    this.begin(this.queue[0]!);
  }

  private onMessage(w: Worker, msg: ToMain): void {
    if (w !== this.worker) return; // a stopped worker's last words
    const run = this.queue.find((r) => r.id === msg.runId);
    if (msg.type === "result") return void run?.caps.result?.(msg.result);
    if (msg.type === "done") {
      if (!run) return;
      this.finish(run, msg.report);
      if (this.queue[0]) this.begin(this.queue[0]);
      else this.idle.start();
      return;
    }
    if (!run)
      return send(w, {
        type: "reply",
        id: msg.id,
        ok: false,
        error: { message: "that role run is over", code: "E_NO_RUN" },
      });
    serve(run.caps, msg.method, msg.args).then(
      (value) => {
        const { moved, transfer } = movable(value);
        send(w, { type: "reply", id: msg.id, ok: true, value: moved }, transfer);
      },
      (err) =>
        send(w, {
          type: "reply",
          id: msg.id,
          ok: false,
          error: {
            message: errorMessage(err),
            code: err instanceof SaltyError ? err.code : "E_REMOTE",
          },
        }),
    );
  }

  /** Idle for timing.idleGcMs: collect garbage in both threads while it costs nobody anything. */
  private collect(): void {
    if (this.worker) send(this.worker, { type: "gc" });
    Bun.gc(true);
  }

  /** Idle for timing.workerIdleMs: stop the worker and its caches; the next role starts a new one. */
  private release(): void {
    if (!this.worker || this.queue.length) return;
    log("agent.worker_released", { idleMs: timing.workerIdleMs });
    this.worker.terminate();
    this.worker = undefined;
    // Once the thread is gone (termination is asynchronous): collect, and hand the heap's free pages back.
    // Bun.shrink() is deprecated but is the only call that does the latter.
    setTimeout(() => {
      Bun.gc(true);
      Bun.shrink();
    }, 200).unref();
  }
}

/** `keyroot`: where owed handlers are journaled (lib/agent/handler-journal.ts). */
export function createWorkerExecutor(opts: {
  pathPrefix: string;
  keyroot?: string;
}): RoleExecutor & { close(): void } {
  const executor = new WorkerExecutor(opts);
  return Object.assign((req: RunRoleRequest, caps: RoleCaps) => executor.execute(req, caps), {
    inOrder: true as const,
    packed: (req: PackedRoleRequest, caps: RoleCaps) => executor.execute(req, caps),
    close: () => executor.close(),
  });
}

function send(w: Worker, msg: ToWorker, transfer: ArrayBuffer[] = []): void {
  w.postMessage(msg, transfer);
}

/**
 * A request's bytes are moved, not cloned: a copy of them (they may be a view into a buffer shared
 * with other data; `new Uint8Array` copies, a Buffer's slice() would not), so that this thread
 * still has them for a new worker if this one is lost.
 */
function sendRun(w: Worker, run: Run): void {
  if (!isPacked(run.req)) return send(w, { type: "run", runId: run.id, req: run.req });
  const packed = new Uint8Array(run.req.packed);
  send(w, { type: "run", runId: run.id, req: { ...run.req, packed } }, [packed.buffer]);
}

function serve(
  caps: RoleCaps,
  method: Extract<ToMain, { type: "call" }>["method"],
  args: unknown[],
): Promise<unknown> {
  if (method === "serverShell")
    return caps.serverShell(args[0] as Parameters<RoleCaps["serverShell"]>[0]);
  if (method === "sharedHosts")
    return caps.sharedHosts
      ? caps.sharedHosts(String(args[0]))
      : Promise.reject(new SaltyError("no shared hosts on this connection", "E_PROTOCOL"));
  if (!isFileMethod(method))
    return Promise.reject(new SaltyError(`no such method ${String(method)}`, "E_PROTOCOL"));
  return callFile(caps.files, method, args);
}

/**
 * File content (read, readMany) is moved to the worker, not cloned: cloning
 * was a fifth of a big transfer's CPU (docs/performance.md). What the connection hands
 * us may be views into buffers shared with other data, so it is first copied
 * into one new buffer (a plain memcpy), which is then transferred.
 */
function movable(value: unknown): { moved: unknown; transfer: ArrayBuffer[] } {
  const parts =
    value instanceof Uint8Array
      ? [value]
      : Array.isArray(value) && value.every((v) => v instanceof Uint8Array)
        ? (value as Uint8Array[])
        : undefined;
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

/** Seconds the run has been running; 0 for one that never started. */
function ranFor(run: Run): number {
  return run.started ? (performance.now() - run.started) / 1000 : 0;
}
