import { userInfo } from "node:os";
import { defineCommand } from "./_command.ts";
import { clientKeyrootArg } from "./_cli.ts";
import { connectClient } from "./_connect.ts";
import { withoutMethod } from "./_adhoc.ts";
import { parseTimeout } from "./_args.ts";
import { RUN_EVENT_VERSION, RunLines, runEndLines } from "../lib/client/adhoc-format.ts";
import { printLines } from "../lib/client/print.ts";
import { parseTarget } from "../lib/inventory/target.ts";
import { UsageError } from "../lib/errors.ts";
import type { RunEvent } from "../lib/wire/api.ts";
import { io } from "./_io.ts";

const FOREVER = 2 ** 31 - 1; // the master kills the command at --timeout and answers

/** The values of every --env K=V (or --env=K=V) before `--`. */
function envPairs(before: string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (let i = 0; i < before.length; i++) {
    const w = before[i]!;
    const v = w === "--env" ? before[++i] : w.startsWith("--env=") ? w.slice(6) : undefined;
    if (v === undefined) {
      if (w === "--env") throw new UsageError("--env needs KEY=VALUE");
      continue;
    }
    const eq = v.indexOf("=");
    if (eq < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.slice(0, eq)))
      throw new UsageError(`--env ${JSON.stringify(v)}: KEY=VALUE with KEY a variable name`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

/** As cmd/apply.ts: `uid=N(name)`, which the master checks against the socket's peer credentials. */
function whoAmI(): string {
  const uid = process.getuid?.() ?? -1;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {} // no passwd entry for this uid
  if (!name || name === "unknown") name = io().env.USER || io().env.LOGNAME;
  return name ? `uid=${uid}(${name})` : `uid=${uid}`;
}

export default defineCommand({
  meta: {
    name: "run",
    description:
      "Run a command on every targeted agent, streaming its output: salty run TARGET -- COMMAND [ARGS...]",
  },
  args: {
    target: {
      type: "positional",
      required: false,
      description: "Which hosts: a glob, cluster:NAME, role:NAME, fact:PATH=GLOB, ... (see README)",
      valueHint: "TARGET",
    },
    shell: { type: "boolean", description: "The command is one string run by /bin/sh -c" },
    timeout: {
      type: "string",
      description: "Seconds before the command is killed (default 300)",
      valueHint: "SECONDS",
    },
    cwd: {
      type: "string",
      description: "Working directory on the hosts (default: the agent user's home)",
      valueHint: "DIR",
    },
    env: {
      type: "string",
      description: "KEY=VALUE added to the command's environment (repeatable)",
      valueHint: "KEY=VALUE",
    },
    json: {
      type: "boolean",
      description: "NDJSON: one event per output chunk and per host end, then the summary",
    },
    ...clientKeyrootArg,
    master: { type: "string", description: "A remote master", valueHint: "HOST[:PORT]" },
  },
  async run({ args, rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const before = dash === -1 ? rawArgs : rawArgs.slice(0, dash);
    const argv = dash === -1 ? [] : rawArgs.slice(dash + 1);
    const target = args.target as string | undefined;
    if (!target || !before.includes(target))
      throw new UsageError(
        "usage: salty run TARGET -- COMMAND [ARGS...] (e.g. salty run 'web*' -- uptime)",
      );
    if (argv.length === 0) throw new UsageError("salty run needs a command after --");
    if (args.shell && argv.length !== 1)
      throw new UsageError(
        "--shell takes the command as one string: salty run TARGET --shell -- 'cmd | cmd'",
      );
    parseTarget(target);
    const timeoutMs = parseTimeout(args.timeout);
    const env = envPairs(before);
    const lines = new RunLines();
    const json = !!args.json;
    const out = (o: object) =>
      io().stdout.write(JSON.stringify({ v: RUN_EVENT_VERSION, ...o }) + "\n");
    const onEvent = (e: RunEvent) => {
      if (json) {
        if (e.type === "output") out({ type: "output", host: e.host, data: e.data });
        else if (e.type === "end") {
          // The host first, as the README shows the line (key order is what a reader sees).
          const { id, status, rc, elapsed, ...rest } = e.host;
          out({ type: "end", host: id, status, rc, elapsed, ...rest });
        } else out({ type: "job", job: e.job });
        return null;
      }
      // A chunk's lines in one write.
      const done =
        e.type === "output"
          ? lines.output(e.host, e.data)
          : e.type === "end"
            ? lines.end(e.host.id)
            : [];
      if (done.length) io().stdout.write(done.join("\n") + "\n");
      return null;
    };
    const rpc = await connectClient(args, {
      "apply.progress": () => null,
      "run.event": onEvent,
      "apply.event": () => null,
    });
    try {
      const report = await rpc
        .call(
          "run",
          {
            target,
            argv,
            shell: !!args.shell,
            user: whoAmI(),
            ...(args.cwd ? { cwd: args.cwd } : {}),
            ...(env ? { env } : {}),
            ...(timeoutMs ? { timeoutMs } : {}),
            // The text output needs a host's end event only to flush an unfinished last line.
            ...(json ? {} : { ends: "partial" as const }),
          },
          { timeoutMs: FOREVER, json: true },
        )
        .catch(withoutMethod("run"));
      if (json)
        out({
          type: "done",
          rc: report.rc,
          elapsed: report.elapsed,
          hosts: report.hosts.length,
          ...(report.job ? { job: report.job } : {}),
        });
      else printLines(runEndLines(report), io());
      return report.rc;
    } finally {
      rpc.close();
    }
  },
});
