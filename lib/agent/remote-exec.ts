// `salty run` on the agent: one command (argv, or a string for /bin/sh -c)
// run as the agent's user, its stdout and stderr sent to the master as they
// come (cmd.output notifications: coalesced for limits.runFlushMs or up to
// limits.runChunkBytes, numbered, at most maxOutput bytes in all, then cut).
// An agent started with --no-remote-exec refuses every command: its host
// runs roles and nothing else.

import { homedir } from "node:os";
import { SaltyError } from "../errors.ts";
import { limits } from "../constants.ts";
import { realExec } from "../sys/exec.ts";
import { bool, int, obj, str, strList } from "../wire/check.ts";
import type { CmdOutput, CmdRunEnd, CmdRunRequest } from "../wire/api.ts";

export interface RemoteExecOptions {
  /** False with --no-remote-exec. */
  allowed: boolean;
  send(o: CmdOutput): void;
}

function request(p: unknown): CmdRunRequest {
  const o = obj(p, "cmd.run");
  const req: CmdRunRequest = {
    run: str(o.run, "run"),
    argv: strList(o.argv, "argv"),
    shell: bool(o.shell, "shell"),
    timeoutMs: int(o.timeoutMs, "timeoutMs"),
    maxOutput: int(o.maxOutput, "maxOutput"),
  };
  if (typeof o.cwd === "string") req.cwd = o.cwd;
  if (o.env !== undefined)
    req.env = Object.fromEntries(
      Object.entries(obj(o.env, "env")).map(([k, v]) => [k, str(v, `env.${k}`)]),
    );
  if (req.argv.length === 0 || (req.shell && req.argv.length !== 1))
    throw new SaltyError("cmd.run needs a command (one string with shell)", "E_PARAMS");
  return req;
}

/** Sends what it is given in numbered chunks, at most `max` bytes in all. */
class Streamer {
  private pending: Uint8Array[] = [];
  private size = 0;
  private sent = 0;
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Made at the first output: a command that prints nothing (most) costs none (~17 µs in the interpreter). */
  private decoder: TextDecoder | undefined;
  cut = false;

  constructor(
    private run: string,
    private max: number,
    private send: (o: CmdOutput) => void,
  ) {}

  add(chunk: Uint8Array): void {
    const room = this.max - this.sent - this.size;
    if (room <= 0) {
      this.cut = true;
      return;
    }
    if (chunk.length > room) {
      chunk = chunk.subarray(0, room);
      this.cut = true;
    }
    this.pending.push(chunk);
    this.size += chunk.length;
    if (this.size >= limits.runChunkBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), limits.runFlushMs);
  }

  flush(end = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Nothing waiting; at the end, nothing ever came (no decoder holds the start of a character).
    if (this.size === 0 && (!end || !this.decoder)) return;
    this.decoder ??= new TextDecoder();
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.sent += this.size;
    this.size = 0;
    for (let at = 0; at < all.length; at += limits.runChunkBytes) {
      const data = this.decoder.decode(all.subarray(at, at + limits.runChunkBytes), {
        stream: true,
      });
      if (data) this.send({ run: this.run, seq: this.seq++, data });
    }
    if (end) {
      const rest = this.decoder.decode();
      if (rest) this.send({ run: this.run, seq: this.seq++, data: rest });
    }
  }
}

/** The agent's cmd.run handler. */
export function remoteExec(opts: RemoteExecOptions): (p: unknown) => Promise<CmdRunEnd> {
  return async (p) => {
    if (!opts.allowed)
      throw new SaltyError("this agent runs with --no-remote-exec (roles only)", "E_DENIED");
    const req = request(p);
    const t0 = performance.now();
    const out = new Streamer(req.run, Math.min(req.maxOutput, limits.runOutputBytes), opts.send);
    const argv = req.shell ? ["/bin/sh", "-c", req.argv[0]!] : req.argv;
    const r = await realExec(argv, {
      cwd: req.cwd ?? homedir(),
      ...(req.env ? { env: req.env } : {}),
      timeoutMs: req.timeoutMs,
      onOutput: (c) => out.add(c),
    });
    // realExec reports a failed start as rc 127 and output only: that text is the error.
    const failedStart = r.rc === 127 && r.output.startsWith("cannot run ");
    if (!failedStart) out.flush(true);
    const end: CmdRunEnd = { rc: r.rc, elapsed: (performance.now() - t0) / 1000 };
    if (out.cut) end.cut = true;
    if (r.timedOut) end.error = `timed out after ${req.timeoutMs / 1000}s`;
    if (failedStart) end.error = r.output;
    return end;
  };
}
