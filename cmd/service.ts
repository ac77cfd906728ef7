import { hostname } from "node:os";
import { existsSync } from "node:fs";
import type { ArgsDef } from "citty";
import { defineCommand } from "./_command.ts";
import { UsageError } from "../lib/errors.ts";
import { version } from "../lib/version.ts";
import { checkMasterAddress, passThrough, selfArgv } from "../lib/service/argv.ts";
import {
  installService,
  systemRunner,
  uninstallService,
  type Host,
  type Report,
} from "../lib/service/install.ts";
import {
  managerFor,
  serviceFiles,
  type ServiceRole,
  type ServiceSpec,
} from "../lib/service/units.ts";
import agent from "./agent.ts";
import master from "./master.ts";
import { pullArgs } from "./pull.ts";
import { parseDuration } from "./_args.ts";
import { checkRepo } from "../lib/pull/pull.ts";
import { splayOffset } from "../lib/agent/schedule.ts";
import { validateId } from "../lib/crypto/keys.ts";
import { io } from "./_io.ts";

const serviceArgs = {
  root: {
    type: "string",
    description: "Write under this directory instead of / and start nothing (images, tests)",
    valueHint: "DIR",
  },
} as const satisfies ArgsDef;

const installArgs = {
  ...serviceArgs,
  print: { type: "boolean", description: "Print the service file; write nothing, start nothing" },
} as const satisfies ArgsDef;

/** The machine's service manager, and the runner only when it is this machine's root. */
function host(root: string | undefined): Host {
  const manager = managerFor(process.platform);
  const live = root === undefined || root === "/";
  const tool = manager === "systemd" ? "systemctl" : "launchctl";
  if (live && process.getuid?.() !== 0)
    throw new UsageError(
      `service files are written as root: run it with sudo (or give --root DIR)`,
    );
  return {
    root: root ?? "/",
    manager,
    run: live && Bun.which(tool) ? systemRunner : undefined,
    managerRunning: manager === "launchd" || existsSync("/run/systemd/system"),
  };
}

function spec(
  role: ServiceRole,
  roleArgs: ArgsDef,
  parsed: Record<string, unknown>,
  everySec?: number,
): ServiceSpec {
  const self = selfArgv(process.execPath, io().main);
  if (self.fromSource) {
    io().stderr.write(
      `salty: running from source: the service will run ${self.argv.join(" ")}; install the compiled binary on real hosts\n`,
    );
  }
  const dirs = ["keyroot", "fileroot", "path", "state"];
  const args = passThrough({
    defs: roleArgs,
    parsed,
    dirs,
    skip: Object.keys(installArgs),
    cwd: process.cwd(),
  });
  const fileroot = parsed.fileroot;
  const workingDirectory =
    role === "master" && typeof fileroot === "string" ? args[args.indexOf("--fileroot") + 1]! : "/";
  return {
    role,
    argv: [...self.argv, role, ...args],
    workingDirectory,
    generator: `salty ${version.version} (${version.commit})`,
    ...(everySec ? { everySec } : {}),
  };
}

function report(r: Report): void {
  for (const f of [{ path: r.path, changed: r.changed }, ...(r.more ?? [])])
    io().stdout.write(`${f.changed ? "wrote" : "unchanged"} ${f.path}\n`);
  for (const line of r.ran) io().stdout.write(`ran ${line}\n`);
  if (r.note) io().stdout.write(`${r.note}\n`);
}

function installCommand(role: ServiceRole, roleArgs: ArgsDef) {
  return defineCommand({
    meta: {
      name: role,
      description: `Install the ${role} as a service, with the options \`salty ${role}\` takes`,
    },
    args: { ...roleArgs, ...installArgs, ...(role === "pull" ? pullInstallArgs : {}) },
    async run({ args }) {
      const parsed = { ...(args as Record<string, unknown>) };
      if (role === "agent") checkMasterAddress(parsed.master as string | undefined);
      let everySec: number | undefined;
      if (role === "pull") {
        // A local repository path is written out absolute, as the directories are.
        parsed.repo = checkRepo(parsed.repo as string | undefined, process.cwd());
        everySec = Math.max(
          1,
          Math.round(parseDuration(String(parsed.every ?? "15m"), "--every", 1000) / 1000),
        );
        delete parsed.every;
      }
      const s = spec(role, roleArgs, parsed, everySec);
      // The first run after boot at the host's own offset within the period (the agent's --splay, by its id).
      if (everySec)
        s.bootDelaySec =
          60 +
          Math.floor(
            splayOffset(validateId(String(parsed.id ?? hostname())), everySec * 1000) / 1000,
          );
      if (args.print) {
        const manager = managerFor(process.platform);
        const files = serviceFiles(manager, s);
        io().stderr.write(`salty: would write ${files.map((f) => f.path).join(" and ")}\n`);
        for (const f of files) io().stdout.write(f.content);
        return;
      }
      report(await installService(host(args.root as string | undefined), s));
    },
  });
}

const roleArg = {
  role: {
    type: "positional",
    description: "agent, master or pull",
    valueHint: "agent|master|pull",
  },
} as const satisfies ArgsDef;

const pullInstallArgs = {
  every: {
    type: "string",
    description: "How often the pull runs",
    default: "15m",
    valueHint: "DURATION",
  },
} as const satisfies ArgsDef;

export default defineCommand({
  meta: {
    name: "service",
    description: "Install or uninstall the agent or master as a systemd/launchd service",
  },
  subCommands: {
    install: defineCommand({
      meta: { name: "install", description: "Write the service file, then enable and start it" },
      subCommands: {
        agent: installCommand("agent", agent.args as ArgsDef),
        master: installCommand("master", master.args as ArgsDef),
        pull: installCommand("pull", pullArgs as ArgsDef),
      },
    }),
    uninstall: defineCommand({
      meta: { name: "uninstall", description: "Stop the service and remove its file" },
      args: { ...roleArg, ...serviceArgs },
      async run({ args }) {
        if (args.role !== "agent" && args.role !== "master" && args.role !== "pull")
          throw new UsageError(
            `service uninstall takes agent, master or pull, not ${JSON.stringify(args.role ?? "")}`,
          );
        const r = await uninstallService(host(args.root), args.role);
        io().stdout.write(`removed ${r.path}\n`);
        for (const line of r.ran) io().stdout.write(`ran ${line}\n`);
      },
    }),
  },
});
