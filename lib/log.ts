// One line per event on stderr: `2026-12-03T12:45:01.000Z info job.start
// job=… kind=apply`. Under systemd (JOURNAL_STREAM names our stderr) the
// journal stamps the time itself and reads the level from a `<N>` prefix:
// `<6>job.start job=…`. The level comes from the event's name unless given
// (…_error is an error; …_failed, …_refused, …_dropped, …unavailable and the
// like are warnings); $SALTY_LOG_LEVEL (debug, info, warn, error) drops the
// lines below it. The sink is replaceable so tests and bootstrap can capture
// or silence it. Callers must never pass a key, a password or a secret value:
// log ids, paths and error messages only.

import { fstatSync } from "node:fs";

export type LogSink = (line: string) => void;
export type Level = "debug" | "info" | "warn" | "error";

/** syslog priorities, as the journal reads them. */
const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

let sink: LogSink = (line) => process.stderr.write(line + "\n");

/** Replace the sink; the one it replaces (to put back). */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Whether stderr is the journal's stream: JOURNAL_STREAM is `DEV:INODE` of it (systemd.exec(5)). */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? "");
  if (!m) return false;
  try {
    const st = fstatSync(2, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

const journal = stderrIsJournal();
const minimum = PRIORITY[(process.env.SALTY_LOG_LEVEL as Level) ?? "debug"] ?? PRIORITY.debug;

/** The level an event has unless its caller says otherwise. */
export function levelOf(event: string): Level {
  if (/(_error|\.lost)$/.test(event)) return "error";
  if (
    /(fail(ed|ure)|refused|dropped|rejected|mismatch|killed|unavailable|unreadable|insecure_mode|no_crypto_pass|too_large|session_cut|closed_before_hello|abandoned)$/.test(
      event,
    )
  )
    return "warn";
  return "info";
}

/** The line for one event (pure): the journal's `<N>` prefix, or a timestamp and the level's name. */
export function formatLog(
  event: string,
  fields: Record<string, unknown>,
  level: Level,
  opts: { journal: boolean; now: Date },
): string {
  const parts = opts.journal
    ? [`<${PRIORITY[level]}>${event}`]
    : [opts.now.toISOString(), level, event];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  }
  return parts.join(" ");
}

/** `log("agent.connected", { id: "web1", peer: "127.0.0.1:5000" })` */
export function log(
  event: string,
  fields: Record<string, unknown> = {},
  level: Level = levelOf(event),
): void {
  if (PRIORITY[level] > minimum) return;
  sink(formatLog(event, fields, level, { journal, now: new Date() }));
}
