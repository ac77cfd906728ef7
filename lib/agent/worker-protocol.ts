// Messages between the agent's main thread and its role worker. Types only.

import type { Result } from "salty";
import type { RoleReport, RunRoleRequest } from "../wire/api.ts";
import type { FileMethod } from "../wire/file-methods.ts";
import type { PackedRoleRequest } from "./role-request.ts";

export type ToWorker =
  | { type: "init"; pathPrefix: string; keyroot?: string }
  | { type: "run"; runId: number; req: RunRoleRequest | PackedRoleRequest }
  /** Nothing to run for a while: collect garbage now, while it costs nobody anything. */
  | { type: "gc" }
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: { message: string; code: string } };

export type ToMain =
  | {
      type: "call";
      id: number;
      runId: number;
      method: FileMethod | "serverShell" | "sharedHosts";
      args: unknown[];
    }
  | { type: "done"; runId: number; report: RoleReport }
  /** One result as its call ended (a request with `stream` only). */
  | { type: "result"; runId: number; result: Result };
