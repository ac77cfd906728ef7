// The worker thread that runs roles, so that a role stuck in a synchronous
// loop can be stopped: the agent terminates this worker and starts another.
// It holds the agent's caches (stats, templates, modules) for its lifetime and
// reaches the master only through the messages of worker-protocol.ts.
// Must stay a separate build entrypoint (scripts/_compile.ts).

import { createExecutor } from "./runner.ts";
import { forwardFiles } from "../wire/file-methods.ts";
import type { RoleCaps } from "./session.ts";
import type { RoleReport, RunRoleRequest } from "../wire/api.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import type { ToMain, ToWorker } from "./worker-protocol.ts";
import { failedReport } from "./failed-report.ts";
import { maskReport, masker } from "../crypto/mask.ts";
import { useRoleWorkerJitPolicy } from "../jit-policy.ts";
import { RequestDecoder, isPacked, type PackedRoleRequest } from "./role-request.ts";

declare const self: Worker;

useRoleWorkerJitPolicy();

let execute: ReturnType<typeof createExecutor> | undefined;
/** Requests that come as bytes are decoded here; their large values are kept for the worker's life. */
const requests = new RequestDecoder();
let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function post(msg: ToMain): void {
  self.postMessage(msg);
}

function ask<T>(
  runId: number,
  method: Extract<ToMain, { type: "call" }>["method"],
  args: unknown[],
): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    post({ type: "call", id, runId, method, args });
  });
}

/** Runs arrive as the master sends them and run one at a time, in that order. */
let queue: Promise<void> = Promise.resolve();

/** The master as one run sees it: its calls are answered by that run's connection, through the main thread. */
function capsFor(runId: number): RoleCaps {
  return {
    files: forwardFiles((method, args) => ask(runId, method, args)),
    serverShell: (req) => ask(runId, "serverShell", [req]),
    sharedHosts: (digest) => ask(runId, "sharedHosts", [digest]),
    result: (result) => post({ type: "result", runId, result }),
  };
}

async function runOne(runId: number, received: RunRoleRequest | PackedRoleRequest): Promise<void> {
  let report: RoleReport;
  let req: RunRoleRequest | undefined;
  try {
    req = isPacked(received) ? requests.unpack(received) : received;
    report = await execute!(req, capsFor(runId));
  } catch (err) {
    // The runner reports a role's failures itself; this is for a bug in it (or a request that could
    // not be read), so that the queue goes on.
    report = maskReport(failedReport(received.role, errorMessage(err)), masker(req?.secrets));
  }
  post({ type: "done", runId, report });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === "init") {
    execute = createExecutor({
      pathPrefix: msg.pathPrefix,
      ...(msg.keyroot ? { keyroot: msg.keyroot } : {}),
    });
  } else if (msg.type === "reply") {
    const w = waiting.get(msg.id);
    waiting.delete(msg.id);
    if (!w) return;
    if (msg.ok) w.resolve(msg.value);
    else w.reject(new SaltyError(msg.error.message, msg.error.code));
  } else if (msg.type === "gc") {
    Bun.gc(true);
  } else if (msg.type === "run") {
    queue = queue.then(() => runOne(msg.runId, msg.req)).catch(() => {});
  }
};
