// The salty CLI in-process: cmd/main.ts's run() with an Io of our own, so a
// test of parsing and printing costs no process start. stdout, stderr (log
// lines included, as the process would have them) and the exit status come
// back together. What needs the real binary as separate processes (masters
// and agents, signals, terminals, memory) stays with test/e2e/_harness.ts.

import { resolve } from "node:path";
import { run } from "../cmd/main.ts";
import type { Io, Writer } from "../cmd/_io.ts";
import { setLogSink } from "../lib/log.ts";

export const MAIN = resolve(import.meta.dir, "../cmd/main.ts");

export interface CliOptions {
  /** The whole environment (default: a copy of the test process's). */
  env?: Record<string, string | undefined>;
  /** What is piped on stdin (default: nothing, not a terminal). */
  stdin?: string | Uint8Array;
  /**
   * The directory relative paths resolve against, as a user's shell would
   * have it. The one process-wide thing changed: runs with a cwd are
   * serialized and the test process's cwd is put back after each.
   */
  cwd?: string;
}

export interface CliBytes {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function collector(): Writer & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  return {
    isTTY: false,
    write: (chunk) => {
      chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
      return true;
    },
    bytes: () => Buffer.concat(chunks),
  };
}

let queue: Promise<unknown> = Promise.resolve();

/** `salty ARGS` in-process; stdout as bytes. */
export function cliBytes(args: string[], opts: CliOptions = {}): Promise<CliBytes> {
  const go = async (): Promise<CliBytes> => {
    const stdout = collector();
    const stderr = collector();
    const input = new Blob([opts.stdin ?? ""]);
    const io: Io = {
      stdout,
      stderr,
      stdin: { isTTY: false, stream: () => input.stream(), text: () => input.text() },
      env: opts.env ?? { ...process.env },
      main: MAIN,
      prompt: () => null, // no controlling terminal, as a detached process has none
    };
    const was = process.cwd();
    if (opts.cwd) process.chdir(opts.cwd);
    const sink = setLogSink((line) => void stderr.write(line + "\n"));
    try {
      const code = await run(args, io);
      return { code, stdout: stdout.bytes(), stderr: stderr.bytes().toString() };
    } finally {
      setLogSink(sink);
      process.chdir(was);
    }
  };
  // One run at a time: the log sink and the cwd are the process's.
  const done = queue.then(go, go);
  queue = done.catch(() => {});
  return done;
}

/** `salty ARGS` in-process: { code, stdout, stderr }. */
export async function cli(
  args: string[],
  opts: CliOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await cliBytes(args, opts);
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}
