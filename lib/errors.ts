// Typed errors thrown inside lib/. They become data in exactly three places:
// the operator runner (a Result with rc 1), the RPC layer (RpcError for the
// caller) and cmd/ (one line on stderr and an exit code). roleFailure() is the
// one shape of a role that failed as a whole (the runner, the role worker, the
// master's scheduler all report it the same way).

import type { Result } from "salty";

export class SaltyError extends Error {
  constructor(
    message: string,
    readonly code: string = "E_SALTY",
  ) {
    super(message);
    this.name = "SaltyError";
  }
}

/** Bad command-line input: exit status 2. */
export class UsageError extends SaltyError {
  constructor(message: string) {
    super(message, "E_USAGE");
    this.name = "UsageError";
  }
}

/** The peer broke the protocol (bad frame, bad handshake): drop that connection. */
export class ProtocolError extends SaltyError {
  constructor(message: string, code = "E_PROTOCOL") {
    super(message, code);
    this.name = "ProtocolError";
  }
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A role that failed as a whole (did not load, threw, timed out, lost its agent): one failed result naming it. */
export function roleFailure(role: string, error: string, elapsed = 0): Result {
  return { cmd: `role(${role})`, rc: 1, changed: false, elapsed, error };
}
