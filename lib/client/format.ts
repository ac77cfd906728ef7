// The text output of `salty apply`, as the original salty printed it. Pure: it
// returns lines tagged for stdout or stderr; cmd/ writes them (and colours the
// failures red and the diff lines on a TTY). Output is proportional to what
// ran: hosts outside the target are one count line, and a host's lines are
// one block on one stream (stderr when the host failed or is missing, else
// stdout), so they stay together and in order when the streams are split or
// one is dropped.
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

import { formatRollout } from "./rollout-format.ts";
import type { Result } from "salty";
import type { ApplyReport, HostReport, RoleOutcome } from "../wire/api.ts";

export interface Line {
  text: string;
  /** Goes to stderr: every line of a host that failed or is missing. */
  error: boolean;
  /** A failure itself (red on a TTY); absent: as `error`. */
  red?: boolean;
  /** A line of a unified diff: coloured on a TTY (added green, removed red, hunk headers cyan). */
  tone?: "add" | "remove" | "hunk";
}

/** The first line of a dry run's output (stdout, with the report it qualifies; not in --json). */
export const DRY_RUN_BANNER = "dry run: nothing was changed on any host";

/**
 * verbosity: 0 only changed or failed roles, 1 every role, 2 every command. A command's diff (--diff) is shown at every verbosity.
 * `target`: the apply's target= value, for the skipped line.
 */
export function formatReport(
  report: ApplyReport,
  verbosity: number,
  opts: { dryRun?: boolean; target?: string } = {},
): Line[] {
  const width = Math.max(0, ...report.hosts.flatMap((h) => h.roles.map((r) => r.role.length)));
  const lines = formatHead(opts);
  for (const host of report.hosts)
    if (host.status !== "skipped") lines.push(...formatHost(host, verbosity, width));
  lines.push(...formatTail(report, opts));
  return lines;
}

/** What comes before the hosts: the dry-run banner, a blank line. */
export function formatHead(opts: { dryRun?: boolean }): Line[] {
  const lines: Line[] = opts.dryRun ? [{ text: DRY_RUN_BANNER, error: false }] : [];
  lines.push({ text: "", error: false });
  return lines;
}

/**
 * One host's block as it ends (a live apply prints it at once: role names aligned within the host).
 * `printed(role)`: how many of the role's first results were already printed as they came (-vv live).
 */
export function formatHostBlock(
  host: HostReport,
  verbosity: number,
  printed?: (role: string) => number,
): Line[] {
  return formatHost(host, verbosity, Math.max(0, ...host.roles.map((r) => r.role.length)), printed);
}

/** What comes after the hosts: the count of hosts outside the target, a blank line, the elapsed time. */
export function formatTail(report: ApplyReport, opts: { target?: string }): Line[] {
  const lines: Line[] = [];
  const outside = report.hosts.filter((h) => h.status === "skipped").length;
  if (outside > 0)
    lines.push({
      text: `skipped ${outside} host${outside === 1 ? "" : "s"} outside ${opts.target ? `target=${opts.target}` : "the target"}`,
      error: false,
    });
  if (report.rollout) lines.push(...formatRollout(report.rollout));
  lines.push({ text: "", error: false }, { text: `elapsed:${secs(report.elapsed)}`, error: false });
  return lines;
}

/** The host's block, all on stderr when the host failed or is missing; `red` keeps which lines are the failures. */
function formatHost(
  host: HostReport,
  verbosity: number,
  width: number,
  printed?: (role: string) => number,
): Line[] {
  const failed = host.errors > 0 || host.status === "missing";
  return hostLines(host, verbosity, width, printed).map((l) => ({
    ...l,
    error: failed,
    red: l.red ?? l.error,
  }));
}

function hostLines(
  host: HostReport,
  verbosity: number,
  width: number,
  printed?: (role: string) => number,
): Line[] {
  const special = hostMarker(host);
  if (special) {
    const shown = host.status === "missing" || verbosity >= 1;
    return shown ? [{ text: `host:${host.id} ${special}`, error: host.status === "missing" }] : [];
  }
  const lines: Line[] = [
    {
      text: `host:${host.id} elapsed:${secs(host.elapsed)} errors:${host.errors} changed:${host.changed}`,
      error: host.errors > 0,
    },
  ];
  for (const role of host.roles)
    lines.push(...formatRole(role, verbosity, width, printed?.(role.role) ?? 0));
  return lines;
}

function hostMarker(host: HostReport): string | undefined {
  if (host.status === "missing")
    return host.connectedTo
      ? `...host missing (connected to ${host.connectedTo})...`
      : "...host missing...";
  if (host.status === "absent") return "...host not connected...";
  return undefined;
}

function formatRole(role: RoleOutcome, verbosity: number, width: number, printed: number): Line[] {
  // Left out by roles=/skip=: it did not run, so no errors:0 changed:0 either.
  if (role.skipped)
    return verbosity >= 1
      ? [{ text: `  role:${role.role.padEnd(width)} ...role skipped...`, error: false }]
      : [];
  const failed = role.errors > 0;
  const listed = verbosity >= 1 || failed || role.changed > 0;
  if (!listed) return [];
  // corrective: the same inputs as the role's last successful run changed the host (someone else had).
  const head = `  role:${role.role.padEnd(width)} elapsed:${secs(role.elapsed)} errors:${role.errors} changed:${role.changed}${role.corrective ? " corrective" : ""}`;
  const lines: Line[] = [{ text: head, error: failed }];
  for (const r of role.results.slice(printed)) lines.push(...resultLines(r, verbosity, "    "));
  if (verbosity >= 2 && role.output) {
    for (const l of role.output.replace(/\n$/, "").split("\n"))
      lines.push({ text: `    | ${l}`, error: false });
  }
  return lines;
}

/** One command's line (every one at -vv, a failed one always, a changed one's name with its diff), then its diff. */
export function resultLines(r: Result, verbosity: number, indent: string): Line[] {
  // Failed commands are always shown: an error must never be silent.
  const { diff, ...shown } = r;
  const lines: Line[] = [];
  if (verbosity >= 2 || r.rc !== 0)
    lines.push({ text: `${indent}${resultJson(shown)}`, error: r.rc !== 0 });
  else if (diff) lines.push({ text: `${indent}${r.cmd}`, error: false });
  if (diff) lines.push(...diffLines(diff));
  return lines;
}

/** A unified diff under its command, indented, each line tagged for colour. */
export function diffLines(diff: string): Line[] {
  return diff
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => {
      const tone = l.startsWith("@@")
        ? "hunk"
        : l.startsWith("+") && !l.startsWith("+++ ")
          ? "add"
          : l.startsWith("-") && !l.startsWith("--- ")
            ? "remove"
            : undefined;
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
