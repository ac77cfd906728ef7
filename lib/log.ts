// One line per event on stderr with an ISO timestamp. The sink is replaceable
// so tests and bootstrap can capture or silence it. Callers must never pass a
// key, a password or a secret value: log ids, paths and error messages only.

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stderr.write(line + "\n");

export function setLogSink(next: LogSink): void {
  sink = next;
}

/** `log("agent.connected", { id: "web1", peer: "127.0.0.1:5000" })` */
export function log(event: string, fields: Record<string, unknown> = {}): void {
  const parts = [new Date().toISOString(), event];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  }
  sink(parts.join(" "));
}
