// How much each kind of message may hold, by who sends it (rpc.ts measures
// every frame against these before decoding it). The master trusts no agent
// and no client: their requests, notifications and error replies are control
// messages, far below the frame size (limits.maxControlMessage); the one large
// thing the master receives is an agent's role report, a reply to role.run,
// bounded in values too (limits.maxReportValues). Bulk file data only ever
// flows from the master, whose peers trust it up to the frame limit. Pure data.

import { limits } from "../constants.ts";
import type { DecodeLimits } from "./codec.ts";
import type { Inbound } from "./rpc.ts";

const control: DecodeLimits = {
  bytes: limits.maxControlMessage,
  nodes: 100_000,
  str: limits.maxControlMessage,
  bin: 64 * 1024,
  array: 100_000,
  map: 10_000,
  depth: limits.maxDepth,
};

/** A role's report: outputs up to limits.roleOutputChars (UTF-8: up to 4 bytes each), one result per operation. */
const roleReport: DecodeLimits = {
  bytes: limits.maxFrame,
  nodes: limits.maxReportValues,
  str: limits.maxFrame,
  bin: 64 * 1024,
  array: limits.maxReportValues,
  map: 10_000,
  depth: limits.maxDepth,
};

/** What the master accepts from an agent. */
export const fromAgent: Inbound = {
  request: control,
  reply: (method) => (method === "role.run" ? roleReport : control),
};

/** What the master accepts from a client (`salty apply`, `hosts`, `meta`: it calls nothing on them that answers). */
export const fromClient: Inbound = { request: control, reply: () => control };
