// A prompt on the controlling terminal with echo off (the crypto password):
// the process's Io.prompt (cmd/_io.ts). It reads /dev/tty, never stdin, so
// data may stream on stdin meanwhile.

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import tty from "node:tty";
import { SaltyError } from "../lib/errors.ts";

/**
 * One line per question typed on the terminal without echo; null when there
 * is no terminal. tty.ReadStream only switches raw mode: reading through it
 * would keep Bun alive until the terminal sends EOF, so bytes are read with
 * readSync (the process has nothing else to do while it waits for a password).
 */
export function promptHidden(questions: string[]): string[] | null {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    return null;
  }
  if (!tty.isatty(fd)) {
    closeSync(fd);
    return null;
  }
  const terminal = new tty.ReadStream(fd);
  terminal.setRawMode(true);
  try {
    return questions.map((q) => {
      writeSync(fd, q);
      try {
        return readLine(fd);
      } finally {
        writeSync(fd, "\n");
      }
    });
  } finally {
    terminal.setRawMode(false);
    terminal.destroy(); // closes fd
  }
}

function readLine(fd: number): string {
  const buf = Buffer.alloc(256);
  const utf8 = new StringDecoder("utf8"); // a character may straddle two reads
  let line = "";
  for (;;) {
    const n = readTty(fd, buf);
    if (n === 0) throw new SaltyError("cancelled", "E_CANCELLED");
    for (const ch of utf8.write(buf.subarray(0, n))) {
      if (ch === "\r" || ch === "\n") return line;
      if (ch === "\x03" || (ch === "\x04" && !line))
        throw new SaltyError("cancelled", "E_CANCELLED");
      if (ch === "\x7f" || ch === "\b") line = [...line].slice(0, -1).join("");
      else if (ch >= " ") line += ch;
    }
  }
}

function readTty(fd: number, buf: Buffer): number {
  for (;;) {
    try {
      return readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Bun.sleepSync(20); // a non-blocking terminal: wait for the next keystroke
    }
  }
}
