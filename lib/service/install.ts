// Installs and removes the service file of the agent or the master, then has
// systemd or launchd pick it up. Thin: what to write comes from units.ts; the
// commands run through an injected runner, and nothing is started when there is
// none (a --root prefix, or no service manager on this machine).

import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { SaltyError } from "../errors.ts";
import {
  activeName,
  serviceFiles,
  servicePath,
  type ServiceManager,
  type ServiceRole,
  type ServiceSpec,
} from "./units.ts";
import { childEnv } from "../sys/child-env.ts";

export type Runner = (argv: string[]) => Promise<{ code: number; output: string }>;

export type Host = {
  /** Prefix of every path written: "/" for this machine, a directory for an image or a test. */
  root: string;
  manager: ServiceManager;
  /** Runs systemctl/launchctl; without it the file is only written. */
  run?: Runner;
  /** systemd is PID 1 here (/run/systemd/system exists); launchd always is on macOS. */
  managerRunning: boolean;
};

export type Report = {
  path: string;
  /** False when the file already held exactly this content. */
  changed: boolean;
  /** The commands that ran, in order. */
  ran: string[];
  /** Said to the operator when the service was not started. */
  note?: string;
  /** The other files written with it (the pull's timer), each with whether it changed. */
  more?: Array<{ path: string; changed: boolean }>;
};

/** Runs a command of the service manager on this machine. */
export const systemRunner: Runner = async (argv) => {
  const proc = Bun.spawn(argv, {
    env: childEnv(),
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, output: (out + err).trim() };
};

function target(host: Host, role: ServiceRole): string {
  return join(host.root, servicePath(host.manager, role));
}

export async function installService(host: Host, spec: ServiceSpec): Promise<Report> {
  const written = serviceFiles(host.manager, spec).map((f) => {
    const path = join(host.root, f.path);
    const changed = !existsSync(path) || readFileSync(path, "utf8") !== f.content;
    if (changed) writeAtomically(path, f.content);
    return { path, changed };
  });
  const { path, changed } = written[0]!;
  const more = written.length > 1 ? { more: written.slice(1) } : {};
  const ran: string[] = [];
  if (!host.run)
    return { path, changed, ran, note: `not started: ${startHint(host, spec.role)}`, ...more };
  for (const step of activation(host, spec.role, path)) await runStep(host.run, step, ran);
  const note =
    host.manager === "systemd" && !host.managerRunning
      ? "systemd is not running here: enabled for the next boot, not started"
      : undefined;
  return { path, changed, ran, note, ...more };
}

export async function uninstallService(host: Host, role: ServiceRole): Promise<Report> {
  const path = target(host, role);
  if (!existsSync(path))
    throw new SaltyError(
      `no ${role} service is installed: ${path} does not exist`,
      "E_NOT_INSTALLED",
    );
  const ran: string[] = [];
  const name = activeName(host.manager, role);
  if (host.run && host.manager === "systemd") {
    await runStep(
      host.run,
      { argv: ["systemctl", "disable", ...(host.managerRunning ? ["--now"] : []), name] },
      ran,
    );
  }
  if (host.run && host.manager === "launchd")
    await runStep(
      host.run,
      { argv: ["launchctl", "bootout", `system/${name}`], mayFail: true },
      ran,
    );
  rmSync(path);
  if (host.manager === "systemd" && role === "pull")
    rmSync(join(host.root, "/etc/systemd/system/salty-pull.timer"), { force: true });
  if (host.run && host.manager === "systemd" && host.managerRunning)
    await runStep(host.run, { argv: ["systemctl", "daemon-reload"] }, ran);
  return { path, changed: true, ran };
}

type Step = { argv: string[]; mayFail?: boolean };

/** Reinstalling restarts the service so that a changed command line takes effect. */
function activation(host: Host, role: ServiceRole, path: string): Step[] {
  const name = activeName(host.manager, role);
  if (host.manager === "launchd") {
    return [
      { argv: ["launchctl", "bootout", `system/${name}`], mayFail: true },
      { argv: ["launchctl", "bootstrap", "system", path] },
    ];
  }
  if (!host.managerRunning) return [{ argv: ["systemctl", "enable", name] }];
  return [
    { argv: ["systemctl", "daemon-reload"] },
    { argv: ["systemctl", "enable", name] },
    { argv: ["systemctl", "restart", name] },
  ];
}

async function runStep(run: Runner, step: Step, ran: string[]): Promise<void> {
  const line = step.argv.join(" ");
  const { code, output } = await run(step.argv);
  ran.push(line);
  if (code !== 0 && !step.mayFail) {
    throw new SaltyError(
      `\`${line}\` failed (exit ${code})${output ? `: ${output.split("\n")[0]}` : ""}`,
      "E_SERVICE_MANAGER",
    );
  }
}

function startHint(host: Host, role: ServiceRole): string {
  const name = activeName(host.manager, role);
  if (host.manager === "launchd")
    return `launchctl bootstrap system ${servicePath(host.manager, role)}`;
  return `systemctl daemon-reload && systemctl enable --now ${name}`;
}

/** Temp file and rename in the same directory: never a half-written unit. */
function writeAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    chmodSync(tmp, 0o644);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
