// The text of `salty ping`, `salty run` and `salty targets`. Pure: lines for
// cmd/ to write. A run's output is printed line by line as it comes, each
// line prefixed with its host (`web1| ...`); a host's partial line waits for
// its end of line (or the host's end), so hosts never share a line.

import type { PingHost, PingReply, RunHostEnd, RunReport, TargetsReply } from "../wire/api.ts";
import type { Line } from "./format.ts";
import { limits } from "../constants.ts";

/** "3m ago", "2h ago", "5d ago": coarse, as a person reads it. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function pingState(h: PingHost, timeoutMs: number, now: number): string {
  switch (h.status) {
    case "ok":
      return `ok  ${(h.ms ?? 0).toFixed(1)} ms`;
    case "timeout":
      return `no response (timeout ${timeoutMs / 1000}s)`;
    case "not connected":
      if (h.connectedTo) return `not connected here (connected to ${h.connectedTo})`;
      return `not connected (${h.lastSeen ? `last seen ${ago(now - Date.parse(h.lastSeen))}` : "not seen since the master started"})`;
    case "key pending":
      return "key pending (salty keys accept " + h.id + ")";
    default:
      return `error: ${h.error ?? "unknown"}`;
  }
}

export function pingLines(reply: PingReply, now: number): Line[] {
  const width = Math.max(0, ...reply.hosts.map((h) => h.id.length));
  const lines: Line[] = reply.hosts.map((h) => ({
    text: `${h.id.padEnd(width)}  ${pingState(h, reply.timeoutMs, now)}${h.notInInventory ? "  (not in inventory)" : ""}`,
    error: h.status !== "ok",
  }));
  const ok = reply.hosts.filter((h) => h.status === "ok").length;
  const n = reply.hosts.length;
  lines.push({
    text: `${ok}/${n} host${n === 1 ? "" : "s"} answered, elapsed:${reply.elapsed.toFixed(3)}`,
    error: ok !== n,
  });
  return lines;
}

export function targetsLines(reply: TargetsReply): Line[] {
  const width = Math.max(
    0,
    ...reply.hosts.map((h) => h.id.length),
    ...reply.strangers.map((s) => s.length),
  );
  return [
    ...reply.hosts.map((h) => ({
      text: `${h.id.padEnd(width)}  cluster:${h.cluster} env:${h.env}${h.connected ? "" : "  (not connected)"}`,
      error: false,
    })),
    ...reply.strangers.map((id) => ({
      text: `${id.padEnd(width)}  (connected, not in the inventory: apply and run leave it out)`,
      error: false,
    })),
  ];
}

/** A run's output as lines `host| text`, each host's partial last line held until its end of line or end. */
export class RunLines {
  private partial = new Map<string, string>();

  output(host: string, data: string): string[] {
    const text = (this.partial.get(host) ?? "") + data;
    const parts = text.split("\n");
    const rest = parts.pop()!;
    if (rest) this.partial.set(host, rest);
    else this.partial.delete(host);
    return parts.map((l) => `${host}| ${l}`);
  }

  /** What the host left without an end of line. */
  end(host: string): string[] {
    const rest = this.partial.get(host);
    this.partial.delete(host);
    return rest === undefined ? [] : [`${host}| ${rest}`];
  }
}

function endState(h: RunHostEnd): string {
  const cut = h.cut
    ? `  (output cut: more than ${limits.runOutputBytes / (1024 * 1024)} MiB, or sent too fast)`
    : "";
  if (h.status === "ran")
    return `rc:${h.rc} elapsed:${h.elapsed.toFixed(3)}${h.error ? `  ${h.error}` : ""}${cut}`;
  return `${h.status}${h.error ? `: ${h.error}` : ""}${cut}`;
}

/** One line per host (rc and elapsed, or why it did not run), then the summary. */
export function runEndLines(report: RunReport): Line[] {
  const width = Math.max(0, ...report.hosts.map((h) => h.id.length));
  const lines: Line[] = report.hosts.map((h) => ({
    text: `${h.id.padEnd(width)}  ${endState(h)}`,
    error: h.rc !== 0,
  }));
  const failed = report.hosts.filter((h) => h.rc !== 0).length;
  const n = report.hosts.length;
  lines.push({
    text: `ran on ${n} host${n === 1 ? "" : "s"}: ${n - failed} ok, ${failed} failed, elapsed:${report.elapsed.toFixed(3)}`,
    error: failed > 0,
  });
  return lines;
}

/** The --json events of a run, one JSON document per line; `v` is the schema's version. */
export const RUN_EVENT_VERSION = 1;
