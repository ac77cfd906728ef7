// The real Probe port: read-only commands run without a shell, in the C locale
// (parsers read English, dot-decimal output), with a timeout, stdout and stderr
// kept apart; and system files read as text. A probe never changes the system,
// so it neither makes watched trees forget nor counts as a command a role ran.

import { readFile } from "node:fs/promises";
import { limits, timing } from "../constants.ts";
import { SaltyError } from "../errors.ts";
import type { Probe, ProbeOutput } from "./types.ts";
import { childEnv } from "./child-env.ts";
import { systemdShow } from "./systemd-bus.ts";

async function text(stream: ReadableStream<Uint8Array>, what: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limits.probeOutputBytes)
      throw new SaltyError(
        `${what}: more than ${limits.probeOutputBytes} bytes of output`,
        "E_PROBE",
      );
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

async function run(
  argv: string[],
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<ProbeOutput> {
  const what = argv.join(" ");
  let proc: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
  try {
    proc = Bun.spawn(argv, {
      cwd: opts.cwd,
      env: { ...childEnv(), LC_ALL: "C", LANG: "C" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    // A missing program is an answer too (rc 127, as a shell says): "not installed".
    return { rc: 127, stdout: "", stderr: `cannot run ${argv[0]}: ${(err as Error).message}` };
  }
  const ms = opts.timeoutMs ?? timing.probeTimeoutMs;
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), proc.kill("SIGKILL")), ms);
  try {
    const [stdout, stderr, rc] = await Promise.all([
      text(proc.stdout, what),
      text(proc.stderr, what),
      proc.exited,
    ]);
    if (timedOut) throw new SaltyError(`${what}: no answer after ${ms / 1000}s`, "E_PROBE_TIMEOUT");
    return { rc, stdout, stderr };
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SaltyError(`cannot read ${path}: ${(err as Error).message}`, "E_PROBE");
  }
}

export const realProbe: Probe = { run, read, systemdShow: (units) => systemdShow(units) };
