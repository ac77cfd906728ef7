// The real Exec port: run a command in its own process group, collect stdout
// and stderr as they arrive (capped), kill the whole group on timeout or abort.
// A background child that keeps the output open does not hold the caller:
// after the command exits its output is drained for timing.shellDrainMs only.

import type { Result } from "salty";
import { existsSync } from "node:fs";
import { limits, timing } from "../constants.ts";
import { childEnv } from "./child-env.ts";
import type { Exec, ExecResult, ShellRequest } from "./types.ts";

class Capped {
  private parts: Uint8Array[] = [];
  private kept = 0;
  dropped = 0;

  add(chunk: Uint8Array): void {
    const room = limits.shellOutputBytes - this.kept;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.parts.push(part);
    this.kept += part.length;
    this.dropped += chunk.length - part.length;
  }

  text(): string {
    const s = Buffer.concat(this.parts).toString("utf8");
    return this.dropped > 0 ? `${s}\n[output truncated: ${this.dropped} more bytes]` : s;
  }
}

/** Reads a pipe into `out` until its end, or until stop() (which ends a pending read at once). */
function pump(
  stream: ReadableStream<Uint8Array>,
  out: Capped,
  each?: (chunk: Uint8Array) => void,
): { done: Promise<void>; stop(): void } {
  const reader = stream.getReader();
  // One plain read per chunk: a Promise.race per read cost a woken agent ~0.1 ms per command (salty run).
  const done = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        out.add(r.value);
        each?.(r.value);
      }
    } catch {
      // cancelled by stop(), or the pipe failed: what was read is kept
    }
  })();
  return { done, stop: () => void reader.cancel().catch(() => {}) };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

export const realExec: Exec = async (argv, opts = {}) => {
  const out = new Capped();
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn(argv, {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      // Bytes given are written to stdin and it is closed (chpasswd -e); the cast keeps proc's type (stdin is never read here).
      stdin: (opts.stdin !== undefined
        ? new TextEncoder().encode(opts.stdin)
        : "ignore") as "ignore",
      stdout: "pipe",
      stderr: "pipe",
      detached: true,
    });
  } catch (err) {
    // A missing cwd fails the spawn with ENOENT too: name it, not the program.
    if (opts.cwd && !existsSync(opts.cwd))
      return {
        rc: 127,
        output: `cannot run ${argv[0]}: the working directory ${opts.cwd} does not exist`,
      };
    return { rc: 127, output: `cannot run ${argv[0]}: ${(err as Error).message}` };
  }
  let timedOut = false;
  const kill = () => killGroup(proc.pid);
  const timer = opts.timeoutMs
    ? setTimeout(() => ((timedOut = true), kill()), opts.timeoutMs)
    : undefined;
  opts.signal?.addEventListener("abort", kill);
  const pipes = [pump(proc.stdout, out, opts.onOutput), pump(proc.stderr, out, opts.onOutput)];
  const rc = await proc.exited;
  clearTimeout(timer);
  opts.signal?.removeEventListener("abort", kill);
  const drain = () => pipes.forEach((p) => p.stop());
  const grace = setTimeout(drain, timedOut ? 0 : timing.shellDrainMs);
  await Promise.all(pipes.map((p) => p.done));
  clearTimeout(grace);
  const result: ExecResult = {
    rc: rc === 0 && (timedOut || proc.signalCode) ? 1 : rc,
    output: out.text(),
  };
  if (timedOut) result.timedOut = true;
  return result;
};

/** serverShell on the master: /bin/sh -c with cwd, env and timeout, as a Result. */
export async function runShell(req: ShellRequest): Promise<Result> {
  const start = performance.now();
  const first = String(req.cmds).split("\n")[0]!.slice(0, 80);
  const opts = {
    ...(req.cwd ? { cwd: req.cwd } : {}),
    ...(req.env ? { env: req.env } : {}),
    ...(req.timeout ? { timeoutMs: req.timeout * 1000 } : {}),
  };
  const r = await realExec(["/bin/sh", "-c", req.cmds], opts);
  const result: Result = {
    cmd: `serverShell(${first})`,
    rc: r.rc,
    changed: true,
    elapsed: 0,
    output: r.output,
  };
  if (r.timedOut) result.error = `timed out after ${req.timeout}s`;
  result.elapsed = Math.round((performance.now() - start) * 1000) / 1e6;
  return result;
}
