// The crypto password for a command: $SALTY_PASSWORD, else KEYROOT/crypto.pass
// (with a warning when it is weak or open to others, or when it makes $PASSWORD
// ignored), else $PASSWORD, else a prompt on the
// controlling terminal with echo off. Data may stream on stdin meanwhile, so
// the prompt reads /dev/tty, never stdin.

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import tty from "node:tty";
import { SaltyError } from "../lib/errors.ts";
import { PASSWORD_FILE, findPassword, passwordFileWarnings } from "../lib/crypto/secrets.ts";
import { lookedNote } from "../lib/client/keyroot.ts";
import { io } from "./_io.ts";

/** `confirm` asks twice (when encrypting, a typo would lock the data away); `searched` is how the keyroot was found. */
export async function obtainPassword(keyroot: string, opts: { confirm: boolean; searched?: string[] }): Promise<string> {
  const found = await findPassword(keyroot, io().env);
  if (found !== null) {
    const warnings = found.from === "crypto.pass" ? [...(found.ignored ? [found.ignored] : []), ...(await passwordFileWarnings(keyroot))] : [];
    for (const w of warnings) io().stderr.write(`salty: warning: ${w}\n`);
    return found.password;
  }
  const hint = `set $SALTY_PASSWORD or write ${join(keyroot, PASSWORD_FILE)}`;
  const answers = io().prompt(opts.confirm ? ["Password: ", "Password again: "] : ["Password: "]);
  if (answers === null) throw new SaltyError(`no password: ${hint} (no terminal to prompt on)${lookedNote(opts.searched)}`, "E_PASSWORD");
  const [first, again] = answers;
  if (!first) throw new SaltyError("empty password", "E_PASSWORD");
  if (opts.confirm && again !== first) throw new SaltyError("the passwords do not match", "E_PASSWORD");
  return first;
}

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
      if (ch === "\x03" || (ch === "\x04" && !line)) throw new SaltyError("cancelled", "E_CANCELLED");
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
