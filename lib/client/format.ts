// The text output of `salty apply`, as the original salty printed it. Pure: it
// returns lines tagged for stdout or stderr; cmd/ writes them (and colours the
// failures red and the diff lines on a TTY).
//
//   dry run: nothing was changed on any host      (--dry-run only)
//   (blank)
//   host:web1 elapsed:0.009 errors:0 changed:1
//     role:nginx elapsed:0.009 errors:0 changed:1
//       {"cmd":"render(...)","rc":0,"changed":true,"created":false,"elapsed":0.004856}
//         --- /etc/nginx/nginx.conf                 (--diff: under each changed command, at every verbosity)
//         +++ /etc/nginx/nginx.conf
//         @@ -1 +1 @@
//   (blank)
//   elapsed:0.052

import type { Result } from "salty";
import type { ApplyReport, HostReport, RoleOutcome } from "../wire/api.ts";

export interface Line {
  text: string;
  /** Failures go to stderr. */
  error: boolean;
  /** A line of a unified diff: coloured on a TTY (added green, removed red, hunk headers cyan). */
  tone?: "add" | "remove" | "hunk";
}

/** The first line of a dry run's output (stdout, with the report it qualifies; not in --json). */
export const DRY_RUN_BANNER = "dry run: nothing was changed on any host";

const SKIPPED_ROLE: Result = { cmd: "...role skipped...", rc: 0, changed: false, elapsed: 0 };

/** verbosity: 0 only changed or failed roles, 1 every role, 2 every command. A command's diff (--diff) is shown at every verbosity. */
export function formatReport(report: ApplyReport, verbosity: number, opts: { dryRun?: boolean } = {}): Line[] {
  const width = Math.max(0, ...report.hosts.flatMap((h) => h.roles.map((r) => r.role.length)));
  const lines: Line[] = opts.dryRun ? [{ text: DRY_RUN_BANNER, error: false }] : [];
  lines.push({ text: "", error: false });
  for (const host of report.hosts) lines.push(...formatHost(host, verbosity, width));
  lines.push({ text: "", error: false }, { text: `elapsed:${secs(report.elapsed)}`, error: false });
  return lines;
}

function formatHost(host: HostReport, verbosity: number, width: number): Line[] {
  const special = hostMarker(host);
  if (special) {
    const shown = host.status === "missing" || verbosity >= 1;
    return shown ? [{ text: `host:${host.id} ${special}`, error: host.status === "missing" }] : [];
  }
  const lines: Line[] = [{ text: `host:${host.id} elapsed:${secs(host.elapsed)} errors:${host.errors} changed:${host.changed}`, error: host.errors > 0 }];
  for (const role of host.roles) lines.push(...formatRole(role, verbosity, width));
  return lines;
}

function hostMarker(host: HostReport): string | undefined {
  if (host.status === "missing") return "...host missing...";
  if (host.status === "skipped") return "...host skipped...";
  if (host.status === "absent") return "...host not connected...";
  return undefined;
}

function formatRole(role: RoleOutcome, verbosity: number, width: number): Line[] {
  const failed = role.errors > 0;
  const listed = verbosity >= 1 || failed || role.changed > 0;
  if (!listed) return [];
  const head = `  role:${role.role.padEnd(width)} elapsed:${secs(role.elapsed)} errors:${role.errors} changed:${role.changed}`;
  const lines: Line[] = [{ text: head, error: failed }];
  const results = role.skipped ? [SKIPPED_ROLE] : role.results;
  for (const r of results) {
    // Failed commands are always shown: an error must never be silent.
    const { diff, ...shown } = r;
    if (verbosity >= 2 || r.rc !== 0) lines.push({ text: `    ${resultJson(shown)}`, error: r.rc !== 0 });
    else if (diff) lines.push({ text: `    ${r.cmd}`, error: false });
    if (diff) lines.push(...diffLines(diff));
  }
  if (verbosity >= 2 && role.output) {
    for (const l of role.output.replace(/\n$/, "").split("\n")) lines.push({ text: `    | ${l}`, error: false });
  }
  return lines;
}

/** A unified diff under its command, indented, each line tagged for colour. */
export function diffLines(diff: string): Line[] {
  return diff.replace(/\n$/, "").split("\n").map((l) => {
    const tone = l.startsWith("@@") ? "hunk" : l.startsWith("+") && !l.startsWith("+++ ") ? "add" : l.startsWith("-") && !l.startsWith("--- ") ? "remove" : undefined;
    return { text: `      ${l}`, error: false, ...(tone ? { tone } : {}) };
  });
}

/** Key order as the original salty printed it: cmd, rc, changed, created, elapsed, then the rest. */
export function resultJson(r: Result): string {
  const { cmd, rc, changed, created, elapsed, ...rest } = r;
  return JSON.stringify({ cmd, rc, changed, created, elapsed, ...rest });
}

function secs(s: number): string {
  return s.toFixed(3);
}
