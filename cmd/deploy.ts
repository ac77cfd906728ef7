import { defineCommand } from "./_command.ts";
import { UsageError, SaltyError } from "../lib/errors.ts";
import { checkName } from "../lib/deploy/names.ts";
import { buildBundle } from "../lib/deploy/bundle.ts";
import {
  eventLine,
  follow,
  request,
  type ServerOptions,
  type SseEvent,
} from "../lib/deploy/client.ts";
import type { ReleaseInfo } from "../lib/deploy/releases.ts";
import { io } from "./_io.ts";

const say = (line: string): void => void io().stdout.write(line + "\n");

function serverOptions(args: Record<string, unknown>): ServerOptions {
  const server = (args.server as string | undefined) ?? io().env.SALTY_SERVER;
  const token = (args.token as string | undefined) ?? io().env.SALTY_TOKEN;
  if (!server)
    throw new UsageError(
      "no master to deploy to: --server URL or $SALTY_SERVER (https://master:4510)",
    );
  if (!token)
    throw new UsageError(
      "no token: --token T or $SALTY_TOKEN (salty token issue PROJECT on the master)",
    );
  if (args.ca && args.fingerprint) throw new UsageError("--ca and --fingerprint: one or the other");
  return {
    server,
    token,
    ...(args.ca ? { ca: args.ca as string } : {}),
    ...(args.fingerprint ? { fingerprint: args.fingerprint as string } : {}),
  };
}

/** Print each event; 0 only when the release went live and every targeted host succeeded. */
/** The apply's query: ?apply=0, or the rollout words. */
function applyQuery(
  args: Record<string, unknown>,
  apply: boolean,
  extra: Record<string, string> = {},
): string {
  const q = new URLSearchParams(extra);
  if (!apply) q.set("apply", "0");
  else {
    if (args.batch) q.set("batch", String(args.batch));
    if (args["max-fail"]) q.set("max_fail", String(args["max-fail"]));
    if (args.gate) q.set("gate", String(args.gate));
    if (args.force) q.set("force", "1");
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

async function streamed(o: ServerOptions, res: Response, apply: boolean): Promise<number> {
  let live = false,
    failed = false,
    ended = !apply;
  await follow(o, res, apply, (e: SseEvent) => {
    say(eventLine(e));
    if (e.event === "release-live") live = true;
    if (e.event === "error") failed = true;
    if (e.event === "host-result" && !(e.data.status === "ran" && e.data.errors === 0))
      failed = true;
    if (e.event === "apply-end") {
      ended = true;
      if (e.data.rc !== 0) failed = true;
    }
  });
  return live && ended && !failed ? 0 : 1;
}

function listTable(byDeployment: Record<string, ReleaseInfo[]>): string {
  const rows = [["DEPLOYMENT", "RELEASE", "DEPLOYED", "TOKEN", "COMMIT", "LIVE"]];
  for (const [d, list] of Object.entries(byDeployment)) {
    for (const r of list)
      rows.push([
        d,
        r.id.slice(0, 12),
        new Date(r.at).toISOString().replace(/\.\d+Z$/, "Z"),
        r.token ?? "-",
        (r.gitcommit ?? "-").split("\n")[0]!.slice(0, 12),
        r.live ? "live" : "",
      ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export default defineCommand({
  meta: {
    name: "deploy",
    description:
      "Upload a project's bundle to the master's deploy API and follow it live (also: salty deploy list PROJECT [DEPLOYMENT], salty deploy rollback PROJECT DEPLOYMENT [--to RELEASE])",
  },
  args: {
    project: {
      type: "positional",
      required: true,
      description: "The project (or list, rollback)",
      valueHint: "PROJECT",
    },
    deployment: {
      type: "positional",
      required: false,
      description: "The deployment, e.g. prod",
      valueHint: "DEPLOYMENT",
    },
    third: {
      type: "positional",
      required: false,
      description: "With list and rollback: the deployment",
      valueHint: "DEPLOYMENT",
    },
    dir: {
      type: "string",
      description: "The directory bundled at the root: top.ts, roles/, files/",
      default: "_salty",
      valueHint: "DIR",
    },
    artifact: {
      type: "string",
      description: "A file or directory added under _artifacts/ (repeatable)",
      valueHint: "PATH",
    },
    "include-source": {
      type: "string",
      description:
        "Add the source under _source/: git (git archive HEAD) or fs (the working tree minus VCS data)",
      valueHint: "git|fs",
    },
    apply: {
      type: "boolean",
      description: "Apply the deployment's roles after it is live (--no-apply: only make it live)",
      default: true,
    },
    batch: {
      type: "string",
      description: "Apply in batches: N hosts, P%, or a list (rollouts: see salty apply batch=)",
      valueHint: "N|P%|LIST",
    },
    "max-fail": {
      type: "string",
      description: "With --batch: the failure budget (N or P%) past which no batch starts",
      valueHint: "N|P%",
    },
    gate: {
      type: "string",
      description:
        "With --batch: a command run on each host after its apply; its failure fails the host",
      valueHint: "CMD",
    },
    force: {
      type: "boolean",
      description:
        "Run every role, also where its inputs did not change since its last successful run",
    },
    to: {
      type: "string",
      description: "rollback: the release to make live (default: the one before the live one)",
      valueHint: "RELEASE",
    },
    server: {
      type: "string",
      description: "The master's deploy API (default $SALTY_SERVER)",
      valueHint: "URL",
    },
    token: {
      type: "string",
      description: "The deploy token (default $SALTY_TOKEN)",
      valueHint: "T",
    },
    ca: {
      type: "string",
      description: "Trust the master's certificate through this CA (or self-signed) file",
      valueHint: "FILE",
    },
    fingerprint: {
      type: "string",
      description: "Trust the master's certificate by its SHA-256 fingerprint",
      valueHint: "SHA256",
    },
    json: { type: "boolean", description: "list: as JSON" },
  },
  async run({ args }) {
    const apply = args.apply !== false;
    if (args.project === "list") {
      const project = checkName(args.deployment, "project");
      const deployment = args.third === undefined ? undefined : checkName(args.third, "deployment");
      const o = serverOptions(args);
      const res = await request(o, `v1/releases/${project}${deployment ? `/${deployment}` : ""}`);
      const data = (await res.json()) as Record<string, ReleaseInfo[]>;
      if (args.json) say(JSON.stringify(data, null, 2));
      else if (Object.values(data).every((l) => l.length === 0))
        io().stderr.write(`no releases of ${project}${deployment ? `/${deployment}` : ""}\n`);
      else say(listTable(data));
      return 0;
    }
    if (args.project === "rollback") {
      const project = checkName(args.deployment, "project");
      const deployment = checkName(args.third, "deployment");
      const o = serverOptions(args);
      const res = await request(
        o,
        `v1/deploy/${project}/${deployment}/rollback${applyQuery(args, apply, args.to ? { to: args.to } : {})}`,
        { method: "POST" },
      );
      return streamed(o, res, apply);
    }
    if (args.third !== undefined)
      throw new UsageError(
        `salty deploy takes PROJECT DEPLOYMENT, not a third word ${JSON.stringify(args.third)}`,
      );
    const project = checkName(args.project, "project");
    if (args.deployment === undefined)
      throw new UsageError("salty deploy PROJECT DEPLOYMENT: the deployment is missing");
    const deployment = checkName(args.deployment, "deployment");
    const source = args["include-source"];
    if (source !== undefined && source !== "git" && source !== "fs")
      throw new UsageError(`--include-source must be git or fs, not ${JSON.stringify(source)}`);
    const o = serverOptions(args);
    const artifacts = ([] as string[]).concat(
      (args.artifact as string | string[] | undefined) ?? [],
    );
    const bundle = await buildBundle({
      dir: args.dir,
      artifacts,
      ...(source ? { source } : {}),
      warn: (line) => io().stderr.write(line + "\n"),
    });
    try {
      const res = await request(o, `v1/deploy/${project}/${deployment}${applyQuery(args, apply)}`, {
        method: "POST",
        body: Bun.file(bundle.path),
        headers: { "content-type": "application/x-tar" },
      });
      return await streamed(o, res, apply);
    } catch (err) {
      if (err instanceof SaltyError) throw err;
      throw new SaltyError(`deploy failed: ${(err as Error).message}`, "E_DEPLOY");
    } finally {
      await bundle.cleanup();
    }
  },
});
