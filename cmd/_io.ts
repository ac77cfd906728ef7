// What a command talks to: its output streams, its input, its environment and
// the program it is. main.ts's run(rawArgs, io) holds one Io for the duration of
// a command (async context, so two runs in one process never mix); commands
// reach it with io(). The process's own (processIo) is the default, so the
// daemons and anything outside run() keep the process's streams; the tests pass
// their own (test/_cli.ts) to run the CLI in-process.

import type { AsyncLocalStorage } from "node:async_hooks";
import { writeSync } from "node:fs";

export interface Writer {
  /** false: wait for "drain" (a Node stream's backpressure); anything else: written. */
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

export interface Io {
  stdout: Writer;
  stderr: Writer;
  stdin: {
    readonly isTTY?: boolean;
    stream(): ReadableStream<Uint8Array>;
    text(): Promise<string>;
  };
  env: Record<string, string | undefined>;
  /** The entry script (Bun.main): what a service or hook installed from source runs. */
  main: string;
  /** One line per question typed on the controlling terminal without echo; null when there is none. */
  prompt(questions: string[]): string[] | null;
}

/**
 * Whether a descriptor is a terminal, without node:tty (which brings Node's streams: ~1.5 ms of
 * CPU for every command); as process.stdout.isTTY says it, through the same native check.
 */
function isatty(fd: number): boolean {
  try {
    return (process as unknown as { binding(m: string): { isTTY(fd: number): boolean } })
      .binding("tty_wrap")
      .isTTY(fd);
  } catch {
    return (require("node:tty") as typeof import("node:tty")).isatty(fd);
  }
}

/**
 * The process's stdout or stderr written with write(2), as Node writes them on POSIX (synchronously,
 * to a file, a pipe or a terminal), without building process.stdout's stream (node:tty, node:stream:
 * every command paid for it at start). A reader that went away (`salty apply | head -1`) is not our
 * failure: the process stops quietly with the status set so far (0), as other tools do.
 */
export function fdWriter(fd: 1 | 2): Writer {
  let tty: boolean | undefined;
  return {
    get isTTY() {
      tty ??= isatty(fd);
      return tty;
    },
    write(chunk: string | Uint8Array): boolean {
      let bytes: Uint8Array | undefined;
      let done = 0;
      for (;;) {
        try {
          if (bytes) done += writeSync(fd, bytes, done);
          else {
            const n = writeSync(fd, chunk as string & Uint8Array);
            const total = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
            if (n === total) return true;
            // Partly written (a descriptor someone made non-blocking): the rest as bytes.
            bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            done = n;
          }
          if (done >= bytes.length) return true;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "EAGAIN")
            Bun.sleepSync(1); // non-blocking and full: wait for the reader
          else if (code === "EPIPE")
            process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
          else throw err;
        }
      }
    },
  };
}

export const processIo: Io = {
  stdout: fdWriter(1),
  stderr: fdWriter(2),
  // Read lazily: touching process.stdin opens it.
  stdin: {
    get isTTY() {
      return process.stdin.isTTY;
    },
    stream: () => Bun.stdin.stream(),
    text: () => Bun.stdin.text(),
  },
  env: process.env,
  main: Bun.main,
  // Loaded when asked: node:tty is for the password prompt only.
  prompt: (questions) =>
    (require("./_prompt.ts") as typeof import("./_prompt.ts")).promptHidden(questions),
};

/** Made by the first run with an Io of its own (the tests'): the executable, running with processIo, never needs it. */
let current: AsyncLocalStorage<Io> | undefined;

/** The Io of the command being run (the process's outside run()). */
export function io(): Io {
  return current?.getStore() ?? processIo;
}

export function withIo<T>(given: Io, fn: () => Promise<T>): Promise<T> {
  // processIo is what io() gives outside any context: no async context to keep, and none of its
  // cost (node:async_hooks loaded, every await of the command carrying the context).
  if (given === processIo && !current?.getStore()) return fn();
  current ??= new (
    require("node:async_hooks") as typeof import("node:async_hooks")
  ).AsyncLocalStorage<Io>();
  return current.run(given, fn);
}

/** Write a chunk, waiting for a stream that asks to drain, so memory stays flat whatever the size. */
export async function writeChunk(w: Writer, chunk: Uint8Array): Promise<void> {
  if (w.write(chunk) === false && "once" in w) {
    const { once } = require("node:events") as typeof import("node:events");
    await once(w as unknown as NodeJS.EventEmitter, "drain");
  }
}
