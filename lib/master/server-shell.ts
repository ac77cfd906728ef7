// serverShell on the master: the agent's request, run with /bin/sh like the
// agent's own shell operator (same Exec port, same output cap and timeout kill).
// Only reached when the master runs with --allow-server-shell and the asking
// agent has a role running (agent-session.ts checks both).

import type { Result } from "salty";
import type { Exec } from "../sys/types.ts";
import type { ShellRequest } from "../wire/api.ts";
import { log } from "../log.ts";

export function masterShell(exec: Exec): (req: ShellRequest) => Promise<Result> {
  return async (req) => {
    const t0 = performance.now();
    const r = await exec(["/bin/sh", "-c", req.cmds], {
      ...(req.cwd ? { cwd: req.cwd } : {}),
      ...(req.env ? { env: req.env } : {}),
      ...(req.timeout ? { timeoutMs: Math.round(req.timeout * 1000) } : {}),
    });
    log("master.server_shell", { rc: r.rc, timedOut: r.timedOut });
    return {
      cmd: "serverShell",
      rc: r.rc,
      changed: true,
      elapsed: (performance.now() - t0) / 1000,
      output: r.output,
      ...(r.timedOut ? { error: `timed out after ${req.timeout}s` } : {}),
    };
  };
}
