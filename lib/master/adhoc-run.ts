// `salty run` on the master: one command on every targeted agent at once.
// Each agent streams its output as cmd.output notifications; they are
// untrusted, so each run accepts only its own numbered chunks, in order, at
// most limits.runChunksPerSecond a second and limits.runOutputBytes in all
// (what is dropped marks the output cut), masks the host's secret values
// (stream-mask.ts), and forwards the rest to the client as it comes. The
// report, shaped as an apply's, goes to the job history as kind `run`.

import { limits, timing } from "../constants.ts";
import { SaltyError, errorMessage } from "../errors.ts";
import type {
  ApplyReport,
  HostReport,
  RunEvent,
  RunHostEnd,
  RunReport,
  RunRequest,
} from "../wire/api.ts";
import type { PlannedHost } from "../inventory/resolve.ts";
import type { AgentSession, Registry } from "./registry.ts";
import type { Selection } from "./targeting.ts";
import { StreamMask } from "./stream-mask.ts";

export interface AdhocDeps {
  registry: Registry;
  select(target: string | undefined): Promise<Selection>;
  /** The plaintexts of the host's own secrets: masked in its output. */
  secretsOf(host: PlannedHost): string[];
}

export async function runAdhoc(
  req: RunRequest,
  deps: AdhocDeps,
  emit: (e: RunEvent) => void,
): Promise<RunReport> {
  const t0 = performance.now();
  const { hosts } = await deps.select(req.target);
  // ignore_missing hosts that are not connected are left out, as in an apply.
  const covered = hosts.filter((h) => h.status !== "absent");
  const ends = await Promise.all(
    covered.map(async (h) => {
      const session = deps.registry.get(h.id);
      const end: RunHostEnd = session
        ? await runOn(session, req, new StreamMask(deps.secretsOf(h)), emit)
        : { id: h.id, status: "not connected", rc: 1, elapsed: 0 };
      // A client that prints text needs a host's end only to flush its unfinished last line.
      if (req.ends !== "partial" || (end.output && !end.output.endsWith("\n")))
        emit({ type: "end", host: withoutOutput(end) });
      return end;
    }),
  );
  return {
    hosts: ends,
    elapsed: secondsSince(t0),
    rc: ends.every((e) => e.rc === 0) ? 0 : 1,
  };
}

function withoutOutput(e: RunHostEnd): RunHostEnd {
  const { output: _, ...rest } = e;
  return rest;
}

/** The chunks one run accepts: its own, in order, within the rate and the cap. */
class Intake {
  private next = 0;
  private windowStart = performance.now();
  private inWindow = 0;
  private kept = 0;
  cut = false;
  output = "";

  constructor(
    private mask: StreamMask,
    private show: (data: string) => void,
  ) {}

  take(o: { seq: number; data: string }): void {
    if (o.seq !== this.next) return void (this.cut = true); // a gap or a repeat: not this run's stream
    this.next++;
    const now = performance.now();
    if (now - this.windowStart >= 1000) [this.windowStart, this.inWindow] = [now, 0];
    if (
      ++this.inWindow > limits.runChunksPerSecond ||
      this.kept + o.data.length > limits.runOutputBytes
    )
      return void (this.cut = true);
    this.kept += o.data.length;
    this.pass(this.mask.push(o.data));
  }

  finish(): void {
    this.pass(this.mask.end());
  }

  private pass(data: string): void {
    if (!data) return;
    this.output += data;
    this.show(data);
  }
}

export async function runOn(
  session: AgentSession,
  req: RunRequest,
  mask: StreamMask,
  emit: (e: RunEvent) => void,
): Promise<RunHostEnd> {
  const t0 = performance.now();
  const id = session.id;
  const run = crypto.randomUUID();
  const intake = new Intake(mask, (data) => emit({ type: "output", host: id, data }));
  const outputs = (session.outputs ??= new Map());
  outputs.set(run, (o: { seq: number; data: string }) => intake.take(o));
  const timeoutMs = req.timeoutMs ?? timing.runTimeoutMs;
  const done = (e: Omit<RunHostEnd, "id" | "elapsed" | "output">): RunHostEnd => {
    intake.finish();
    const out: RunHostEnd = {
      id,
      elapsed: secondsSince(t0),
      ...e,
      output: intake.output,
    };
    if (intake.cut || e.cut) out.cut = true;
    if (e.error) out.error = mask.mask(e.error).slice(0, 2000);
    return out;
  };
  try {
    const end = await session.rpc.call(
      "cmd.run",
      {
        run,
        argv: req.argv,
        shell: req.shell,
        ...(req.cwd ? { cwd: req.cwd } : {}),
        ...(req.env ? { env: req.env } : {}),
        timeoutMs,
        maxOutput: limits.runOutputBytes,
      },
      { timeoutMs: timeoutMs + 10_000 },
    );
    // The agent's answer is untrusted too: only its known fields, checked.
    const rc = typeof end?.rc === "number" && Number.isInteger(end.rc) ? end.rc : 1;
    return done({
      status: "ran",
      rc,
      ...(end?.cut === true ? { cut: true } : {}),
      ...(typeof end?.error === "string" ? { error: end.error } : {}),
    });
  } catch (err) {
    const code = err instanceof SaltyError ? err.code : "";
    const status = code === "E_DENIED" ? "refused" : code === "E_CONN_LOST" ? "lost" : "error";
    return done({ status, rc: 1, error: errorMessage(err).replace(/^cmd\.run: /, "") });
  } finally {
    outputs.delete(run);
  }
}

/** The command as one line: argv quoted where needed, or the shell string. */
export function commandText(req: Pick<RunRequest, "argv" | "shell">): string {
  if (req.shell) return req.argv[0] ?? "";
  return req.argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** A run's report in the shape of an apply's, for the job history (`salty jobs show` prints it like an apply). */
export function asApplyReport(req: RunRequest, report: RunReport): ApplyReport {
  const cmd = `run(${commandText(req).slice(0, 200)})`;
  const hosts = report.hosts.map((h): HostReport => {
    if (h.status === "not connected")
      return { id: h.id, status: "missing", elapsed: 0, errors: 1, changed: 0, roles: [] };
    const result = {
      cmd,
      rc: h.rc,
      changed: h.status === "ran",
      elapsed: h.elapsed,
      ...(h.output ? { output: h.output } : {}),
      ...(h.error ? { error: h.error } : {}),
    };
    const errors = h.rc === 0 ? 0 : 1;
    return {
      id: h.id,
      status: "ran",
      elapsed: h.elapsed,
      errors,
      changed: result.changed ? 1 : 0,
      roles: [
        {
          role: "run",
          skipped: false,
          elapsed: h.elapsed,
          results: [result],
          errors,
          changed: result.changed ? 1 : 0,
        },
      ],
    };
  });
  return { hosts, elapsed: report.elapsed, rc: report.rc };
}

/** Seconds since `t0` (performance.now()), to the microsecond as a role's results are. */
function secondsSince(t0: number): number {
  return Math.round((performance.now() - t0) * 1000) / 1e6;
}
