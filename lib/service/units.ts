// The service files of the agent and the master: a systemd unit on Linux, a
// launchd plist on macOS, and where each lives. `salty pull` runs on a period
// instead: a oneshot unit and its timer (OnUnitActiveSec), a plist with
// StartInterval. Pure: no I/O, no process state;
// the command line the service runs is given whole by the caller.

import { SaltyError } from "../errors.ts";

export type ServiceRole = "agent" | "master" | "pull";
export type ServiceManager = "systemd" | "launchd";

export type ServiceSpec = {
  role: ServiceRole;
  /** The whole command line: an absolute executable, then its arguments. */
  argv: string[];
  /** The directory the service runs in (absolute). */
  workingDirectory: string;
  /** Named in the header comment, e.g. "salty 0.1.0 (abc1234)". */
  generator: string;
  /** pull: seconds from one run to the next. */
  everySec?: number;
  /** pull on systemd: seconds after boot of the first run (60 plus the host's offset within the period: a fleet booted at once is spread). */
  bootDelaySec?: number;
};

/** Seconds before a crashed or disconnected service is started again. */
export const restartSec = 5;

/** The launchd label and the systemd unit name of a role. */
export function serviceName(manager: ServiceManager, role: ServiceRole): string {
  return manager === "systemd" ? `salty-${role}.service` : `dev.salty.${role}`;
}

/** Where the service file goes on the target system (absolute, before any --root prefix). */
export function servicePath(manager: ServiceManager, role: ServiceRole): string {
  return manager === "systemd"
    ? `/etc/systemd/system/${serviceName(manager, role)}`
    : `/Library/LaunchDaemons/${serviceName(manager, role)}.plist`;
}

/** What is enabled, started and stopped: the pull's timer on systemd, else the service itself. */
export function activeName(manager: ServiceManager, role: ServiceRole): string {
  return manager === "systemd" && role === "pull" ? "salty-pull.timer" : serviceName(manager, role);
}

/** Every file of a role's service: the unit and, for the pull on systemd, its timer. */
export function serviceFiles(
  manager: ServiceManager,
  spec: ServiceSpec,
): Array<{ path: string; content: string }> {
  const files = [{ path: servicePath(manager, spec.role), content: render(manager, spec) }];
  if (manager === "systemd" && spec.role === "pull")
    files.push({ path: "/etc/systemd/system/salty-pull.timer", content: pullTimer(spec) });
  return files;
}

/** Where launchd sends the service's stdout and stderr (systemd uses the journal). */
export function launchdLogPath(role: ServiceRole): string {
  return `/var/log/salty-${role}.log`;
}

export function managerFor(platform: string): ServiceManager {
  if (platform === "linux") return "systemd";
  if (platform === "darwin") return "launchd";
  throw new SaltyError(
    `no service manager known for ${platform}: run salty under your own supervisor`,
    "E_PLATFORM",
  );
}

export function render(manager: ServiceManager, spec: ServiceSpec): string {
  checkSpec(spec);
  return manager === "systemd" ? systemdUnit(spec) : launchdPlist(spec);
}

function checkSpec(spec: ServiceSpec): void {
  const exe = spec.argv[0];
  if (!exe?.startsWith("/"))
    throw new SaltyError(
      `the service's executable must be an absolute path, not ${exe ?? "nothing"}`,
      "E_SERVICE",
    );
  if (!spec.workingDirectory.startsWith("/"))
    throw new SaltyError("the service's working directory must be absolute", "E_SERVICE");
  if (spec.role === "pull" && !(Number.isSafeInteger(spec.everySec) && spec.everySec! >= 1))
    throw new SaltyError("the pull service needs its period in whole seconds", "E_SERVICE");
  for (const a of spec.argv) {
    if (/[\0\n\r]/.test(a))
      throw new SaltyError("a service argument may not hold a newline or NUL", "E_SERVICE");
  }
}

const description: Record<ServiceRole, string> = {
  agent: "salty agent: runs the roles its master sends",
  master: "salty master: serves the fileroot to agents",
  pull: "salty pull: applies this host's roles from git (run by salty-pull.timer)",
};

/**
 * One word of an ExecStart line. systemd expands `%` specifiers and `$VAR`
 * even inside quotes, so both are doubled; quotes and backslashes are escaped.
 */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(word)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function systemdUnit(spec: ServiceSpec): string {
  if (spec.role === "pull") return pullUnit(spec);
  const network =
    spec.role === "agent"
      ? ["After=network-online.target", "Wants=network-online.target"]
      : ["After=network.target"];
  return [
    `# Written by ${spec.generator}. Remove with: salty service uninstall ${spec.role}`,
    "[Unit]",
    `Description=${description[spec.role]}`,
    ...network,
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${spec.argv.map(systemdWord).join(" ")}`,
    `WorkingDirectory=${systemdWord(spec.workingDirectory)}`,
    "Restart=always",
    `RestartSec=${restartSec}`,
    "LimitNOFILE=65536",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** A run at a time, to its end (a oneshot); the timer starts it. */
function pullUnit(spec: ServiceSpec): string {
  return [
    `# Written by ${spec.generator}. Remove with: salty service uninstall pull`,
    "[Unit]",
    `Description=${description.pull}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${spec.argv.map(systemdWord).join(" ")}`,
    `WorkingDirectory=${systemdWord(spec.workingDirectory)}`,
    "",
  ].join("\n");
}

/** A minute (and the host's offset) after boot, then `everySec` after each run started; a failed run waits for the next. */
function pullTimer(spec: ServiceSpec): string {
  return [
    `# Written by ${spec.generator}. Remove with: salty service uninstall pull`,
    "[Unit]",
    `Description=salty pull every ${spec.everySec}s`,
    "",
    "[Timer]",
    `OnBootSec=${spec.bootDelaySec ?? 60}`,
    `OnUnitActiveSec=${spec.everySec}`,
    "AccuracySec=1",
    "Unit=salty-pull.service",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

export function xmlText(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** launchd's default PATH lacks /usr/local/bin and Homebrew: roles' shell commands expect them. */
export const launchdPath = "/usr/local/bin:/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin";

function launchdPlist(spec: ServiceSpec): string {
  const str = (s: string) => `<string>${xmlText(s)}</string>`;
  const log = launchdLogPath(spec.role);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    `<!-- Written by ${xmlText(spec.generator).replace(/--/g, "- -")}. Remove with: salty service uninstall ${spec.role} -->`,
    '<plist version="1.0">',
    "<dict>",
    `  <key>Label</key>${str(serviceName("launchd", spec.role))}`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...spec.argv.map((a) => `    ${str(a)}`),
    "  </array>",
    `  <key>WorkingDirectory</key>${str(spec.workingDirectory)}`,
    "  <key>EnvironmentVariables</key>",
    `  <dict><key>PATH</key>${str(launchdPath)}</dict>`,
    "  <key>RunAtLoad</key><true/>",
    ...(spec.role === "pull"
      ? [`  <key>StartInterval</key><integer>${spec.everySec}</integer>`]
      : [
          "  <key>KeepAlive</key><true/>",
          `  <key>ThrottleInterval</key><integer>${restartSec}</integer>`,
        ]),
    `  <key>StandardOutPath</key>${str(log)}`,
    `  <key>StandardErrorPath</key>${str(log)}`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}
