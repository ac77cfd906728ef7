// The protocol: every message the master, agents and clients exchange, as a
// closed, typed set of methods. A handler missing from a Handlers<...> object
// is a compile error. Types only: no runtime code here.

import type { HostContext, Facts, Result } from "salty";
import type { FileHash, ServerCommandRequest } from "../sys/types.ts";
import type { FileMethod, FileParams, FileReplies } from "./file-methods.ts";
import type { Method } from "./rpc.ts";
import type { JobFilter, JobRecord, JobSummary } from "../history/types.ts";

/** What the master serves to a connected agent. */
export type MasterApi = {
  /** First call after the handshake: the agent is listed in `salty hosts` from then on. */
  "agent.hello": Method<
    { facts: Facts; version: string; capabilities?: Partial<Capabilities>; applyEvery?: number },
    { masterVersion: string }
  >;
  /** Facts refreshed (notification). */
  "agent.facts": Method<{ facts: Facts }, null>;
  "server.shell": Method<ShellRequest, Result>;
  /** Output of a `salty run` command as it comes (notification; untrusted: bounded in size and rate, lib/master/adhoc-run.ts). */
  "cmd.output": Method<CmdOutput, null>;
  /** One result of a role run whose request said `stream`, as its call ends (notification; untrusted, checked by the scheduler). */
  "role.result": Method<{ apply: string; role: string; result: Result }, null>;
  /** `salty agent --apply-every`: apply this agent's own host now, as the inventory says (lib/master/scheduled.ts). */
  "agent.applyMe": Method<{ onlyIfChanged?: boolean }, ApplyMeReply>;
  /** `salty pull --report`: a masterless pull's report, recorded as a job of kind pull for this agent's own id (lib/master/pull-report.ts). */
  "agent.report": Method<PullReportRequest, { job: string }>;
  /** The shared hosts a role request came without (SharedHostsRef.onDemand), for a template that names them;
   * answered only while one of this agent's roles runs, and only with that apply's (lib/master/shared-hosts.ts). */
  "hosts.fetch": Method<{ digest: string }, Uint8Array>;
  ping: Method<null, null>;
} & FileRpc;

export interface ApplyMeReply {
  /** `unchanged`: --only-if-changed and every role's input digest is that of the last successful run. */
  status: "ran" | "unchanged";
  job?: string;
  rc?: number;
  errors?: number;
  changed?: number;
}

export interface PullReportRequest {
  /** The commit the pull applied (its version=). */
  commit: string;
  /** The repository and branch, for the record's arguments. */
  repo: string;
  branch: string;
  /** The apply's report; absent when the pull failed before applying (`error` says why). */
  report?: ApplyReport;
  error?: string;
}

/** `file.METHOD` for each method of wire/file-methods.ts, the one list of them. */
export type FileRpc = { [K in FileMethod as `file.${K}`]: Method<FileParams[K], FileReplies[K]> };

/**
 * What an agent says it can do at hello; the master uses only what is said, so
 * two builds talk without exact version equality (an older agent says less and
 * gets requests one at a time, contexts whole).
 */
export interface Capabilities {
  /** Role requests may all be sent at once: it queues them and runs them in order. */
  pipelining: boolean;
  /** It keeps the shared `hosts` by digest (RunRoleRequest.sharedHosts). */
  sharedHosts: boolean;
  /** It answers fetches from the hashes sent with the request (RunRoleRequest.known). */
  knownFiles: boolean;
  /** A role request may come without the shared hosts (SharedHostsRef.onDemand): it refuses the role's own reads of them
   * and fetches them for a template that names them (hosts.fetch). */
  hostsOnDemand: boolean;
}

/** What an agent serves to the master. */
export type AgentApi = {
  "role.run": Method<RunRoleRequest, RoleReport>;
  /** `salty run`: one command, its output sent as cmd.output notifications while it runs; refused with --no-remote-exec. */
  "cmd.run": Method<CmdRunRequest, CmdRunEnd>;
  ping: Method<null, null>;
};

/** What the master serves to clients (`salty apply`, `salty hosts`…). */
export type ControlApi = {
  hosts: Method<null, Record<string, HostEntry>>;
  apply: Method<ApplyRequest, ApplyReport>;
  meta: Method<{ showSecrets: boolean }, unknown>;
  /** The job history, newest first (lib/history). */
  "jobs.list": Method<JobFilter, JobSummary[]>;
  /** One job with each host's report as the client received it; E_NOT_FOUND when the history does not hold it. */
  "jobs.show": Method<{ id: string }, JobRecord>;
  /** A job running on this master: its progress as notifications, its record when it ends (`salty jobs follow`). */
  "jobs.follow": Method<{ id: string }, JobRecord>;
  /** `salty targets`: the hosts a target expression selects (lib/inventory/target.ts), nothing run. */
  targets: Method<{ target?: string }, TargetsReply>;
  /** `salty ping`: each targeted agent asked over its live connection. */
  "agents.ping": Method<{ target?: string; timeoutMs?: number }, PingReply>;
  /** `salty run`: a command on every targeted agent; output and each host's end come as run.event first. */
  run: Method<RunRequest, RunReport>;
  ping: Method<null, null>;
};

/** What a client serves to the master while it waits (notifications). */
export type ClientApi = {
  "apply.progress": Method<ApplyProgress, null>;
  "run.event": Method<RunEvent, null>;
  /** Live results of an apply that asked for them (ApplyRequest.live). */
  "apply.event": Method<ApplyEvent, null>;
};

/** serverShell: the name of a command the master declares (server/NAME), JSON arguments, the asking role. */
export type ShellRequest = ServerCommandRequest;

/** The `hosts` all role contexts share, by digest; `packed` (msgpack) when the connection does not hold them yet (lib/master/shared-hosts.ts). */
export interface SharedHostsRef {
  digest: string;
  packed?: Uint8Array;
  /** Not sent: the role's code names neither `hosts` nor `getIps`; a template that names them fetches them (hosts.fetch). */
  onDemand?: true;
}

export interface RunRoleRequest {
  role: string;
  /** The role's TypeScript source and the path it came from (for error messages). */
  source: string;
  filename: string;
  /** The roles/lib/ modules the role imports, by fileroot path ("roles/lib/util.ts"): checked and evaluated with it. */
  modules?: Record<string, string>;
  context: HostContext;
  /** When present, context.hosts is empty and these hosts, less the agent itself, take its place. */
  sharedHosts?: SharedHostsRef;
  /** Hash and size of the copy/render sources this role fetched on this agent last time (lib/master/known-files.ts). */
  known?: Record<string, FileHash>;
  dryRun: boolean;
  diff: boolean;
  timeoutMs: number;
  /** The same for every role of one host's apply: what the agent reads once per apply (unit states) is kept for it,
   * and a dry run's planned world (operators/planned.ts) goes on from one role to the next. */
  apply?: string;
  /** Send each result as its call ends (role.result): the client asked for live results (ApplyRequest.live "roles"). */
  stream?: true;
  /** The host's last role of this apply: after it the agent runs the handlers queued or owed (operators/handlers.ts). */
  last?: true;
  /** The decrypted secret values of this host's vars (already in `context`): masked in everything the run reports. */
  secrets?: string[];
}

export interface RoleReport {
  role: string;
  elapsed: number;
  results: Result[];
  /** What the role printed. */
  output?: string;
  /** The fileroot paths the run fetched: their hashes come with its next run. */
  fetched?: string[];
  /** `last` only: the handlers run (or, in a dry run, that would run) after the role, one Result each. */
  handlers?: Result[];
}

export interface HostEntry {
  facts: Facts;
  /** ISO time the agent connected. */
  connected: string;
  peer: string;
  version: string;
  /** `salty agent --apply-every`: its period, the last time it asked, and `late` when it has not asked for two periods. */
  scheduled?: { everyMs: number; last?: string; late: boolean };
  /** The host's last apply (dry runs excepted) and last successful one, from the job history. */
  lastApply?: HostLastApply;
  /** Its cluster and env in the inventory (absent: not in hosts/index.ts, or the inventory does not load). */
  cluster?: string;
  env?: string;
}

export interface HostLastApply {
  job: string;
  /** ISO time the apply started. */
  at: string;
  status: string;
  version: string;
  ok?: { job: string; at: string; version: string };
}

export interface ApplyRequest {
  /** Raw KEY=VALUE arguments, parsed on the master so every client agrees. */
  args: string[];
  dryRun: boolean;
  diff: boolean;
  timeoutMs?: number;
  /** Set by `salty bootstrap` only. */
  bootstrap?: boolean;
  /** Send live results as apply.event notifications: "hosts" each host's report as it ends, "roles" also each host's start and each role's outcome. */
  live?: "hosts" | "roles";
  /**
   * With `live`: the client printed each host whose report came live (host_end) and needs of those
   * hosts in the reply only their id, status and counts, so the reply carries them without roles
   * (not what the job history records). A master that does not know it sends them whole.
   */
  slimLive?: boolean;
  /** The client rebuilds the hosts outside the target from their ids (ApplyReport.outside, lib/wire/outside.ts). A master that does not know it sends them whole. */
  slimOutside?: boolean;
  /** The user the client runs as, recorded in the job history for the local socket (a remote client is known by its key). */
  user?: string;
  /** `salty apply --resume JOB`: the rollout JOB again, with its own arguments, on its hosts never attempted (and failed ones with retryFailed). */
  resume?: { job: string; retryFailed: boolean };
}

export type HostStatus = "ran" | "missing" | "skipped" | "absent";

export interface HostReport {
  id: string;
  status: HostStatus;
  elapsed: number;
  errors: number;
  changed: number;
  roles: RoleOutcome[];
  /** Missing here, connected to this other master (several masters on one database: lib/master/presence.ts). */
  connectedTo?: string;
}

export interface RoleOutcome extends RoleReport {
  skipped: boolean;
  errors: number;
  changed: number;
  /** The digest of the run's inputs (lib/history/inputs.ts), when the master keeps a history. */
  inputs?: string;
  /** It changed the host with the same inputs as the last successful run of this role there: someone had changed the host. */
  corrective?: boolean;
}

export interface ApplyReport {
  hosts: HostReport[];
  elapsed: number;
  /** 0 when every command of every host succeeded. */
  rc: number;
  /** A rollout's batches, failures and the hosts it never reached (lib/master/rollout.ts). */
  rollout?: RolloutSummary;
  /** In a reply to slimOutside only: the hosts outside the target, left out of `hosts`, by place in the whole list (lib/wire/outside.ts). */
  outside?: { at: number[]; ids: string[] };
}

/** A rollout as it went: `hosts` of the report holds the hosts that ran; those never attempted are listed here only. */
export interface RolloutSummary {
  /** Batches planned, and each batch started: its hosts and those of them that failed (their apply or their gate). */
  planned: number;
  batches: Array<{ hosts: string[]; failed: string[] }>;
  /** The failure budget (hosts) and how much of it is spent. */
  budget: number;
  spent: number;
  failed: string[];
  /** Hosts of the target that were not connected: reported missing, outside the budget. */
  missing: string[];
  neverAttempted: string[];
  /** Why no further batch started. */
  stopped?: string;
  gate?: string;
  /** The job this rollout resumed (salty apply --resume). */
  resumeOf?: string;
}

/** The batch a rollout runs now: `batch 2/5: 10 hosts, 1 failed, budget 1/2`. */
export interface BatchProgress {
  n: number;
  of: number;
  hosts: number;
  failed: number;
  spent: number;
  budget: number;
  /** pause=: seconds left before this batch starts. */
  startsIn?: number;
}

export interface ApplyProgress {
  /** The job's id in the history: sent once when the apply starts (elapsed 0, total 0), then with each progress. */
  job?: string;
  elapsed: number;
  done: number;
  total: number;
  /** Hosts done that failed, and (at most three) hosts running now with their role: `web7 role:app`. */
  failed?: number;
  running?: string[];
  /** Just after the master's start: it waits up to `ms` for `agents` known agents to reconnect. */
  waiting?: { agents: number; ms: number };
  /** A rollout's current batch. */
  batch?: BatchProgress;
}

/** `salty targets`: the inventory hosts selected (connected or not) and the connected agents outside the inventory it matches. */
export interface TargetsReply {
  hosts: Array<{ id: string; cluster: string; env: string; connected: boolean }>;
  strangers: string[];
}

export type PingStatus = "ok" | "timeout" | "not connected" | "key pending" | "error";

export interface PingHost {
  id: string;
  status: PingStatus;
  /** Round trip in milliseconds (ok). */
  ms?: number;
  /** ISO time the master last saw it connected (not connected; absent: not since the master started). */
  lastSeen?: string;
  /** Connected but not in hosts/index.ts. */
  notInInventory?: true;
  error?: string;
  /** Not connected here, connected to this other master (several masters on one database). */
  connectedTo?: string;
}

export interface PingReply {
  hosts: PingHost[];
  timeoutMs: number;
  elapsed: number;
}

export interface RunRequest {
  target: string;
  /** argv (no shell), or one string for `sh -c` with `shell`. */
  argv: string[];
  shell: boolean;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  user?: string;
  /** "partial": an `end` event only for a host whose output ends in the middle of a line (the text
   * output flushes it; every end is in the reply): 200 hosts running `true` send no event at all.
   * Absent: an `end` event for every host (--json prints each). */
  ends?: "partial";
}

/** What the master asks an agent: `run` names the stream its output notifications carry. */
export interface CmdRunRequest {
  run: string;
  argv: string[];
  shell: boolean;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs: number;
  /** Bytes of output sent at most; past it the agent stops sending and says `cut`. */
  maxOutput: number;
}

export interface CmdOutput {
  run: string;
  /** Position of this chunk (0, 1, ...): a gap or repeat is refused. */
  seq: number;
  data: string;
}

export interface CmdRunEnd {
  rc: number;
  elapsed: number;
  /** Output was cut at maxOutput. */
  cut?: boolean;
  error?: string;
}

export interface RunHostEnd {
  id: string;
  /** ran: the command ran (rc is its exit status); the others: it did not run, rc 1. */
  status: "ran" | "not connected" | "refused" | "lost" | "error";
  rc: number;
  elapsed: number;
  cut?: boolean;
  error?: string;
  /** The whole output, for --json consumers of the final report and the job history (capped). */
  output?: string;
}

export interface RunReport {
  hosts: RunHostEnd[];
  elapsed: number;
  rc: number;
  job?: string;
}

export type RunEvent =
  | { type: "job"; job: string }
  | { type: "output"; host: string; data: string }
  | { type: "end"; host: RunHostEnd };

/** An apply's live results (ApplyRequest.live), in the order they happen. */
export type ApplyEvent =
  | { type: "host_start"; host: string }
  | { type: "result"; host: string; role: string; result: Result }
  | { type: "role_end"; host: string; role: RoleOutcome }
  | { type: "host_end"; host: HostReport }
  | { type: "batch_start"; batch: number; of: number; hosts: string[] }
  | {
      type: "batch_end";
      batch: number;
      of: number;
      failed: string[];
      spent: number;
      budget: number;
      stopped?: string;
    };
