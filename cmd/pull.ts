import { hostname } from "node:os";
import { resolve } from "node:path";
import { defineCommand } from "./_command.ts";
import { parseTimeout, verbosity } from "./_args.ts";
import { SaltyError, UsageError, errorMessage } from "../lib/errors.ts";
import { parseHostPort } from "../lib/wire/address.ts";
import { reportPull } from "../lib/pull/report.ts";
import type { ApplyReport } from "../lib/wire/api.ts";
import { validateId } from "../lib/crypto/keys.ts";
import { version } from "../lib/version.ts";
import { checkBranch, checkRepo, pull } from "../lib/pull/pull.ts";
import { installHook, renderHook } from "../lib/pull/hook.ts";
import { selfArgv } from "../lib/service/argv.ts";
import { formatReport } from "../lib/client/format.ts";
import { printLines } from "../lib/client/print.ts";
import { setLogSink } from "../lib/log.ts";
import { io } from "./_io.ts";

export const pullArgs = {
  repo: {
    type: "string",
    description: "The git repository to deploy from (a URL or a path)",
    valueHint: "URL|PATH",
  },
  branch: { type: "string", description: "Its branch", default: "main", valueHint: "BRANCH" },
  id: { type: "string", description: "This host's id in the inventory (default: the host name)" },
  keyroot: {
    type: "string",
    description: "Directory of crypto.pass and the agent key",
    default: "/etc/salty",
    valueHint: "DIR",
  },
  state: {
    type: "string",
    description:
      "Where the local clone lives (DIR/pull; never inside the keyroot, whose files are never served)",
    default: "/var/lib/salty",
    valueHint: "DIR",
  },
  path: {
    type: "string",
    description: "Write every destination under this prefix",
    valueHint: "PREFIX",
  },
  force: {
    type: "boolean",
    description: "Apply even when the fetched commit is the last good one",
  },
  timeout: {
    type: "string",
    description: "Seconds before a role is reported failed (default 900)",
    valueHint: "SECONDS",
  },
  verbose: {
    type: "boolean",
    alias: "v",
    description: "One line per role (-vv: one line per command)",
  },
  report: {
    type: "string",
    description:
      "Send the result to this master's job history (as a job of kind pull), with this host's agent key",
    valueHint: "MASTER[:PORT]",
  },
} as const;

export default defineCommand({
  meta: {
    name: "pull",
    description:
      "Deploy this host from a git repository without a master (fast-forwards only; salty/last-good moves on success)",
  },
  args: {
    ...pullArgs,
    "install-hook": {
      type: "string",
      description:
        "Write a post-receive hook in this bare repository that runs this pull on each push",
      valueHint: "BARE_REPO",
    },
  },
  async run({ args, rawArgs }) {
    const branch = checkBranch(args.branch ?? "main");
    const id = validateId(args.id ?? hostname());
    if (args.path !== undefined && !args.path.startsWith("/"))
      throw new UsageError("--path must be an absolute directory");
    const keyroot = resolve(args.keyroot ?? "/etc/salty");
    const state = resolve(args.state ?? "/var/lib/salty");
    if (args["install-hook"] !== undefined) {
      const bare = resolve(args["install-hook"]);
      if (args.repo !== undefined && checkRepo(args.repo, process.cwd()) !== bare)
        throw new UsageError(
          "--install-hook pulls from the repository it is installed in: leave out --repo",
        );
      const argv = [
        ...selfArgv(process.execPath, io().main).argv,
        "pull",
        "--repo",
        bare,
        "--branch",
        branch,
        "--id",
        id,
        "--keyroot",
        keyroot,
        "--state",
        state,
        ...(args.path ? ["--path", args.path] : []),
        ...(args.timeout ? ["--timeout", args.timeout] : []),
        ...(args.verbose ? ["-v"] : []),
      ];
      const r = await installHook(
        bare,
        renderHook({ argv, branch, generator: `salty ${version.version} (${version.commit})` }),
      );
      io().stdout.write(`${r.changed ? "wrote" : "unchanged"} ${r.path}\n`);
      return 0;
    }
    const repo = checkRepo(args.repo, process.cwd());
    const timeoutMs = parseTimeout(args.timeout);
    const master = args.report === undefined ? undefined : parseHostPort(args.report, "--report");
    setLogSink(() => {}); // the in-process master and agent would log their own connection
    const say = (line: string) => io().stdout.write(`pull: ${line}\n`);
    const send = async (what: { commit: string; report?: ApplyReport; error?: string }) => {
      if (!master) return;
      try {
        const job = await reportPull({ ...master, id, keyroot, repo, branch, ...what });
        say(`reported to ${args.report} as job ${job}`);
      } catch (err) {
        throw new SaltyError(
          `the report to ${args.report} failed: ${errorMessage(err)}`,
          "E_REPORT",
        );
      }
    };
    let result: Awaited<ReturnType<typeof pull>>;
    try {
      result = await pull({
        repo,
        branch,
        id,
        keyroot,
        stateDir: state,
        pathPrefix: args.path ?? "",
        force: !!args.force,
        say,
        ...(timeoutMs ? { timeoutMs } : {}),
      });
    } catch (err) {
      // Said to the master too: a pull that cannot fetch or fast-forward is a failure, not only a line in a log.
      if (!(err instanceof UsageError))
        await send({ commit: "", error: errorMessage(err) }).catch((e) =>
          io().stderr.write(`salty: ${errorMessage(e)}\n`),
        );
      throw err;
    }
    if (!result.report) return 0;
    printLines(formatReport(result.report, verbosity(rawArgs), { dryRun: false }), io());
    const ok = result.report.rc === 0;
    if (ok) say(`salty/last-good -> ${result.commit}`);
    else
      io().stderr.write(
        `salty: ${result.commit} failed: salty/last-good stays at ${result.lastGood ?? "(none)"}; the commit is tried again at the next pull\n`,
      );
    await send({ commit: result.commit, report: result.report });
    return ok ? 0 : 1;
  },
});
