// A role that did not run to its end, reported as one failed result naming it:
// a worker stopped or crashed, a request that could not be read, a bug in the runner.

import { roleFailure } from "../errors.ts";
import type { RoleReport } from "../wire/api.ts";

export function failedReport(role: string, error: string, elapsed = 0): RoleReport {
  return { role, elapsed, results: [roleFailure(role, error, elapsed)] };
}
