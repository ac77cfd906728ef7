#!/usr/bin/env bun
// The salty executable: master, agent or client by subcommand.
// run() turns every error into one line and a status (0 ok, 1 failure,
// 2 usage), with the stack only under -vv; the executable is the only place
// that sets the exit code. Tests call run() in-process with their own Io
// (test/_cli.ts).

import { defineCommand, runCommand } from "./_command.ts";
import { version } from "../lib/version.ts";
import { overrideTiming } from "../lib/constants.ts";
import { UsageError } from "../lib/errors.ts";
import { checkOptions, describeError, findCommand } from "./_cli.ts";
import { renderHelp } from "./_usage.ts";
import { verbosity } from "./_args.ts";
import { io as currentIo, processIo, withIo, type Io } from "./_io.ts";
import { forgetRuntimeEnv, runtimeEnv, type RuntimeCommand } from "../lib/runtime-env.ts";

// Each command is loaded when it is run: `salty apply` does not evaluate the
// master, the agent or the crypto commands (start-up is part of every command's time).
const lazy =
  <T>(load: () => Promise<{ default: T }>) =>
  () =>
    load().then((m) => m.default);
const main = defineCommand({
  meta: {
    name: "salty",
    version: version.version,
    description: "Configuration management in one small executable",
  },
  subCommands: {
    master: lazy(() => import("./master.ts")),
    agent: lazy(() => import("./agent.ts")),
    apply: lazy(() => import("./apply.ts")),
    bootstrap: lazy(() => import("./bootstrap.ts")),
    pull: lazy(() => import("./pull.ts")),
    hosts: lazy(() => import("./hosts.ts")),
    ping: lazy(() => import("./ping.ts")),
    run: lazy(() => import("./run.ts")),
    targets: lazy(() => import("./targets.ts")),
    jobs: lazy(() => import("./jobs.ts")),
    drift: lazy(() => import("./drift.ts")),
    facts: lazy(() => import("./facts.ts")),
    meta: lazy(() => import("./meta.ts")),
    keys: lazy(() => import("./keys.ts")),
    token: lazy(() => import("./token.ts")),
    deploy: lazy(() => import("./deploy.ts")),
    crypto: lazy(() => import("./crypto.ts")),
    init: lazy(() => import("./init.ts")),
    service: lazy(() => import("./service.ts")),
    version: lazy(() => import("./version.ts")),
  },
});

/** Run one salty command line with `io` as its streams and environment; the exit status. */
export function run(rawArgs: string[], io: Io = processIo): Promise<number> {
  return withIo(io, () => runCommandLine(rawArgs));
}

async function runCommandLine(rawArgs: string[]): Promise<number> {
  const io = currentIo();
  try {
    overrideTiming(io.env.SALTY_TIMING);
    // `salty --version` and `salty -V` are `salty version`, as other tools have it.
    if (rawArgs[0] === "--version" || rawArgs[0] === "-V")
      rawArgs = ["version", ...rawArgs.slice(1)];
    const { cmd, args, path, misplaced } = await findCommand(main, rawArgs);
    // After `--` the words are a command's (salty run web1 -- grep --help).
    const own = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;
    if (rawArgs.length === 0 || own.includes("--help") || own.includes("-h")) {
      io.stdout.write((await renderHelp(cmd, path, version.version)) + "\n");
      return rawArgs.length === 0 ? 2 : 0;
    }
    // Dropped silently, `salty --dry-run apply` would apply for real.
    if (misplaced.length)
      throw new UsageError(
        `${misplaced.join(" ")} before the command: options go after it (salty ${path} ${misplaced.join(" ")})`,
      );
    if (!cmd.run) {
      if (args[0] && !args[0].startsWith("-"))
        throw new UsageError(
          `unknown command ${args[0]} (see salty ${path ? `${path} ` : ""}--help)`,
        );
      io.stderr.write((await renderHelp(cmd, path, version.version)) + "\n");
      return 2;
    }
    await checkOptions(cmd, args, path);
    // The leaf command is run directly so that the status its run() returns reaches us.
    const { result } = await runCommand(cmd, { rawArgs: args });
    return typeof result === "number" ? result : 0;
  } catch (err) {
    const { status, line } = describeError(err);
    io.stderr.write(`salty: ${line}\n`);
    if (verbosity(rawArgs) >= 2 && err instanceof Error && err.stack)
      io.stderr.write(err.stack + "\n");
    return status;
  }
}

/**
 * `salty agent` and `salty master` start once more, in place, with their runtime settings
 * (lib/runtime-env.ts), before anything else is loaded; if that cannot be done they run as they are.
 */
function startWithRuntime(command: RuntimeCommand): void {
  const env = runtimeEnv(command, process.env);
  if (env && typeof process.execve === "function") {
    // A compiled executable's argv[1] is its bundle (/$bunfs/root/salty), not an argument, and it applies
    // its own runtime options; from source, bun's options (--smol, ...) and the script.
    const compiled = process.argv[1]?.startsWith("/$bunfs/");
    const script = compiled ? [] : [...process.execArgv, ...process.argv.slice(1, 2)];
    try {
      process.execve(process.execPath, [process.argv0, ...script, ...process.argv.slice(2)], env);
    } catch {} // carries on without them
  }
  forgetRuntimeEnv(process.env);
}

if (import.meta.main) {
  const command = process.argv[2];
  if (command === "agent" || command === "master") startWithRuntime(command);
  // A reader that went away (`salty apply | head -1`): processIo's writers stop quietly (cmd/_io.ts).
  void run(process.argv.slice(2), processIo).then((status) => {
    process.exitCode = status;
  });
}
