// The agent's side of one authenticated connection to the master: says hello
// with its facts, serves role runs, refreshes facts every minute, pings, and
// resolves with the reason when the connection ends. Roles reach the master's
// files only through the file protocol built here (agent/file-source.ts builds
// the rest of the chain).

import type { Facts, Result } from "salty";
import { timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { Rpc } from "../wire/rpc.ts";
import { keepAlive } from "../wire/keepalive.ts";
import { askPeriodically, type Schedule } from "./schedule.ts";
import type { FrameLink } from "../wire/link.ts";
import type {
  AgentApi,
  Capabilities,
  MasterApi,
  RoleReport,
  RunRoleRequest,
  ShellRequest,
} from "../wire/api.ts";
import { fileStubs, type FileProtocol } from "../wire/file-methods.ts";
import { SharedHostsStore } from "./shared-hosts.ts";
import { remoteExec } from "./remote-exec.ts";
import type { ApplyLock } from "./apply-lock.ts";
import { isPacked, readHead, type PackedRoleRequest } from "./role-request.ts";

/** What this build can do, said at hello (wire/api.ts Capabilities). */
const CAPABILITIES: Capabilities = {
  pipelining: true,
  sharedHosts: true,
  knownFiles: true,
  hostsOnDemand: true,
};

export interface RoleCaps {
  /** The master's files as the protocol serves them; agent/file-source.ts makes the operators' view of them. */
  files: FileProtocol;
  serverShell: (req: ShellRequest) => Promise<Result>;
  /** A request with `stream`: each result as its call ends goes to the master (role.result notifications). */
  result?: (r: Result) => void;
  /** The bytes of the shared hosts a request came without, for a template that names them (agent/shared-hosts.ts). */
  sharedHosts?: (digest: string) => Promise<Uint8Array>;
}

/**
 * Runs one role (lib/agent/worker-executor.ts in production, the runner itself
 * in tests). The session calls it for one request at a time, unless it is
 * `inOrder`: then it gets every request as it arrives and runs them one at a
 * time, in that order, itself.
 */
export type RoleExecutor = ((req: RunRoleRequest, caps: RoleCaps) => Promise<RoleReport>) & {
  inOrder?: true;
  /** It takes requests as the bytes they came in (agent/role-request.ts): this thread then decodes only their head. */
  packed?: (req: PackedRoleRequest, caps: RoleCaps) => Promise<RoleReport>;
};

export interface AgentSessionDeps {
  gatherFacts: () => Promise<Facts>;
  execute: RoleExecutor;
  version: string;
  /** `salty run` commands are refused when false (--no-remote-exec). */
  remoteExec?: boolean;
  /** What it says it can do at hello; this build's by default (tests play an older agent). */
  capabilities?: Capabilities;
  /** `--apply-every`: ask the master for this host's own apply on this schedule (schedule.ts). */
  schedule?: Schedule;
  /** Several masters (`salty agent m1,m2`): the host's apply lock they share, and this session's master as messages name it. */
  applyLock?: { lock: ApplyLock; master: string };
}

/** The master's files over this connection: one `file.*` call per method (wire/file-methods.ts). */
export function rpcFileSource(rpc: Rpc<AgentApi, MasterApi>): FileProtocol {
  return fileStubs((method, params) => rpc.call(method, params as never));
}

/**
 * One call at a time, in the order they came: the master sends a host's role
 * requests all at once (lib/master/scheduler.ts) and they must run in turn.
 */
export function serially<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (a) => {
    const next = tail.then(() => fn(a));
    tail = next.catch(() => {});
    return next;
  };
}

/** Serve the master on `link` until it closes; resolves with why it closed. */
export async function serveMaster(link: FrameLink, deps: AgentSessionDeps): Promise<string> {
  const shared = new SharedHostsStore();
  const execute = (req: RunRoleRequest | PackedRoleRequest) => {
    const c: RoleCaps = req.stream
      ? {
          ...caps,
          result: (result) =>
            rpc.notify("role.result", { apply: req.apply ?? "", role: req.role, result }),
        }
      : caps;
    return isPacked(req) ? deps.execute.packed!(req, c) : deps.execute(req, c);
  };
  const run = deps.execute.inOrder ? execute : serially(execute);
  const token = {};
  const locked = deps.applyLock;
  const runLocked = locked
    ? (req: RunRoleRequest | PackedRoleRequest) => {
        const done = locked.lock.enter(token, locked.master, req);
        return run(req).finally(done);
      }
    : run;
  const rpc: Rpc<AgentApi, MasterApi> = new Rpc<AgentApi, MasterApi>(
    link,
    {
      "role.run": (req) => runLocked(shared.attach(req)),
      "cmd.run": remoteExec({
        allowed: deps.remoteExec !== false,
        send: (o) => rpc.notify("cmd.output", o),
      }),
      ping: () => null,
    },
    undefined,
    {
      // Its params (null) are never read: measured as every request is, but not decoded (~15 µs a ping).
      ping: async () => null,
      ...(deps.execute.packed
        ? { "role.run": (params: Uint8Array) => runLocked(shared.attach(readHead(params))) }
        : {}),
    },
  );
  const caps: RoleCaps = {
    files: rpcFileSource(rpc),
    sharedHosts: (digest) => shared.fetch(digest, () => rpc.call("hosts.fetch", { digest })),
    serverShell: (req) =>
      rpc.call("server.shell", req, { timeoutMs: (req.timeout ?? 3600) * 1000 + 5000 }),
  };
  const closed = new Promise<string>((resolve) => rpc.onClose(resolve));
  if (locked) rpc.onClose(() => locked.lock.leave(token));
  try {
    await rpc.call("agent.hello", {
      facts: await deps.gatherFacts(),
      version: deps.version,
      capabilities: deps.capabilities ?? CAPABILITIES,
      ...(deps.schedule ? { applyEvery: deps.schedule.everyMs } : {}),
    });
  } catch (err) {
    rpc.close(`hello failed: ${errorMessage(err)}`);
    return closed;
  }
  keepAlive(rpc);
  const refresh = setInterval(() => {
    deps.gatherFacts().then(
      (facts) => rpc.notify("agent.facts", { facts }),
      (err) => log("agent.facts_failed", { error: errorMessage(err) }),
    );
  }, timing.factsRefreshMs);
  rpc.onClose(() => clearInterval(refresh));
  if (deps.schedule)
    rpc.onClose(askPeriodically(deps.schedule, () => applyMe(rpc, deps.schedule!)));
  return closed;
}

/** One scheduled apply, asked of the master; its outcome is logged (the job is in the master's history). */
async function applyMe(rpc: Rpc<AgentApi, MasterApi>, schedule: Schedule): Promise<void> {
  try {
    // As long as the apply takes: the master bounds each role with its own timeout.
    const r = await rpc.call(
      "agent.applyMe",
      { onlyIfChanged: schedule.onlyIfChanged },
      { timeoutMs: 86_400_000 },
    );
    if (r.status === "unchanged") log("agent.scheduled_unchanged", {});
    else
      log(r.rc === 0 ? "agent.scheduled" : "agent.scheduled_failed", {
        job: r.job ?? "-",
        rc: r.rc,
        changed: r.changed,
        errors: r.errors,
      });
  } catch (err) {
    log("agent.scheduled_failed", { error: errorMessage(err) });
  }
}
