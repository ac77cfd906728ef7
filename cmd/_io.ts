// What a command talks to: its output streams, its input, its environment and
// the program it is. main.ts's run(rawArgs, io) holds one Io for the duration of
// a command (async context, so two runs in one process never mix); commands
// reach it with io(). The process's own (processIo) is the default, so the
// daemons and anything outside run() keep the process's streams; the tests pass
// their own (test/_cli.ts) to run the CLI in-process.

import { AsyncLocalStorage } from "node:async_hooks";
import { once } from "node:events";
import { promptHidden } from "./_prompt.ts";

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

export const processIo: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
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
  prompt: promptHidden,
};

const current = new AsyncLocalStorage<Io>();

/** The Io of the command being run (the process's outside run()). */
export function io(): Io {
  return current.getStore() ?? processIo;
}

export function withIo<T>(given: Io, fn: () => Promise<T>): Promise<T> {
  return current.run(given, fn);
}

/** Write a chunk, waiting for a stream that asks to drain, so memory stays flat whatever the size. */
export async function writeChunk(w: Writer, chunk: Uint8Array): Promise<void> {
  if (w.write(chunk) === false && "once" in w)
    await once(w as unknown as NodeJS.EventEmitter, "drain");
}
