import { existsSync } from "node:fs";
import { defineCommand, type ArgsDef } from "citty";
import { UsageError } from "../lib/errors.ts";
import { version } from "../lib/version.ts";
import { checkMasterAddress, passThrough, selfArgv } from "../lib/service/argv.ts";
import { installService, systemRunner, uninstallService, type Host, type Report } from "../lib/service/install.ts";
import { managerFor, render, servicePath, type ServiceRole, type ServiceSpec } from "../lib/service/units.ts";
import agent from "./agent.ts";
import master from "./master.ts";

const serviceArgs = {
  root: { type: "string", description: "Write under this directory instead of / and start nothing (images, tests)", valueHint: "DIR" },
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
  if (live && process.getuid?.() !== 0) throw new UsageError(`service files are written as root: run it with sudo (or give --root DIR)`);
  return {
    root: root ?? "/",
    manager,
    run: live && Bun.which(tool) ? systemRunner : undefined,
    managerRunning: manager === "launchd" || existsSync("/run/systemd/system"),
  };
}

function spec(role: ServiceRole, roleArgs: ArgsDef, parsed: Record<string, unknown>): ServiceSpec {
  const self = selfArgv(process.execPath, Bun.main);
  if (self.fromSource) {
    process.stderr.write(`salty: running from source: the service will run ${self.argv.join(" ")}; install the compiled binary on real hosts\n`);
  }
  const dirs = ["keyroot", "fileroot", "path"];
  const args = passThrough({ defs: roleArgs, parsed, dirs, skip: Object.keys(installArgs), cwd: process.cwd() });
  const fileroot = parsed.fileroot;
  const workingDirectory = role === "master" && typeof fileroot === "string" ? args[args.indexOf("--fileroot") + 1]! : "/";
  return { role, argv: [...self.argv, role, ...args], workingDirectory, generator: `salty ${version.version} (${version.commit})` };
}

function report(r: Report): void {
  process.stdout.write(`${r.changed ? "wrote" : "unchanged"} ${r.path}\n`);
  for (const line of r.ran) process.stdout.write(`ran ${line}\n`);
  if (r.note) process.stdout.write(`${r.note}\n`);
}

function installCommand(role: ServiceRole, roleArgs: ArgsDef) {
  return defineCommand({
    meta: { name: role, description: `Install the ${role} as a service, with the options \`salty ${role}\` takes` },
    args: { ...roleArgs, ...installArgs },
    async run({ args }) {
      const parsed = args as Record<string, unknown>;
      if (role === "agent") checkMasterAddress(parsed.master as string | undefined);
      const s = spec(role, roleArgs, parsed);
      if (args.print) {
        const manager = managerFor(process.platform);
        process.stderr.write(`salty: would write ${servicePath(manager, role)}\n`);
        process.stdout.write(render(manager, s));
        return;
      }
      report(await installService(host(args.root as string | undefined), s));
    },
  });
}

const roleArg = {
  role: { type: "positional", description: "agent or master", valueHint: "agent|master" },
} as const satisfies ArgsDef;

export default defineCommand({
  meta: { name: "service", description: "Install or uninstall the agent or master as a systemd/launchd service" },
  subCommands: {
    install: defineCommand({
      meta: { name: "install", description: "Write the service file, then enable and start it" },
      subCommands: { agent: installCommand("agent", agent.args as ArgsDef), master: installCommand("master", master.args as ArgsDef) },
    }),
    uninstall: defineCommand({
      meta: { name: "uninstall", description: "Stop the service and remove its file" },
      args: { ...roleArg, ...serviceArgs },
      async run({ args }) {
        if (args.role !== "agent" && args.role !== "master") throw new UsageError(`service uninstall takes agent or master, not ${JSON.stringify(args.role ?? "")}`);
        const r = await uninstallService(host(args.root), args.role);
        process.stdout.write(`removed ${r.path}\n`);
        for (const line of r.ran) process.stdout.write(`ran ${line}\n`);
      },
    }),
  },
});
