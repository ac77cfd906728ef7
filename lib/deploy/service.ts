// A deploy on the master, from the upload to the apply, as a numbered event
// log (events.ts): the bundle is streamed to disk (hashed and counted as it
// comes: memory stays flat; past maxBytes it is refused), unpacked into
// incoming/ and checked (tar-read.ts, check.ts), kept as the release named by
// its hash, made live in one symlink swap (releases.ts), then applied: the
// release's top.ts section to the hosts it selects (scope.ts), with the release
// as the agents' only fileroot for that apply (FileServer confinement: its
// files/ only, never the base fileroot, never the keyroot, no .enc). A failure
// before the swap leaves the live release and every host as they were. The
// deploy is a job of kind `deploy` in the history, its author the token id.

import { createHash } from "node:crypto";
import { lstat, mkdir, open, rename, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { log as logLine } from "../log.ts";
import type { Registry } from "../master/registry.ts";
import { FileServer } from "../master/fileserver.ts";
import { readRoleSource } from "../master/apply-scope.ts";
import { applyOrRollout } from "../master/rollout.ts";
import type { ApplyReport, ApplyRequest, HostReport } from "../wire/api.ts";
import type { Recorder } from "../history/recorder.ts";
import { extractBundle } from "./tar-read.ts";
import { checkRelease } from "./check.ts";
import type { Releases } from "./releases.ts";
import { DeployLogs, type DeployLog } from "./events.ts";
import { scopeDeploy, type DeployScopeDeps } from "./scope.ts";
import type { TokenInfo } from "./tokens.ts";

export interface DeployLimits {
  maxEntries: number;
  maxBytes: number;
}

/** false: no apply (--no-apply); else the rollout words of the apply (none: every targeted host at once), and whether to run roles whose inputs did not change. */
export type ApplyWords = false | { words: string[]; force: boolean };

export interface DeployServiceDeps {
  releases: Releases;
  keyroot: string;
  registry: Registry;
  scoping: DeployScopeDeps;
  limits: DeployLimits;
  inputKey?: Uint8Array;
  history?: Recorder;
}

export class DeployService {
  readonly logs = new DeployLogs();
  private queue = new Map<string, Promise<void>>();

  constructor(private deps: DeployServiceDeps) {}

  /** Start a deploy of `body` (a tar); its log is returned at once and filled as it goes. */
  deploy(
    project: string,
    deployment: string,
    token: TokenInfo,
    body: ReadableStream<Uint8Array>,
    apply: ApplyWords,
  ): DeployLog {
    return this.start(
      project,
      deployment,
      token,
      ["deploy", ...(apply ? apply.words : [])],
      async (log) => {
        const id = await this.receive(project, deployment, token, body, log);
        return this.goLive(project, deployment, id, log, apply);
      },
    );
  }

  /** Make an earlier release live again (`to`, else the one before the live one), then the same apply. */
  rollback(
    project: string,
    deployment: string,
    token: TokenInfo,
    to: string | undefined,
    apply: ApplyWords,
  ): DeployLog {
    return this.start(
      project,
      deployment,
      token,
      ["rollback", ...(to ? [to] : []), ...(apply ? apply.words : [])],
      async (log) => {
        const id = to ?? (await this.deps.releases.previous(project, deployment));
        if (!(await this.deps.releases.exists(project, deployment, id)))
          throw new SaltyError(
            `no release ${id} of ${project}/${deployment} (see salty deploy list)`,
            "E_NOT_FOUND",
          );
        return this.goLive(project, deployment, id, log, apply);
      },
    );
  }

  /** One deploy of a project/deployment at a time: the next waits for the one before. */
  private start(
    project: string,
    deployment: string,
    token: TokenInfo,
    what: string[],
    run: (log: DeployLog) => Promise<ApplyReport>,
  ): DeployLog {
    const req: ApplyRequest = {
      args: [`deploy=${project}/${deployment}`, ...what],
      dryRun: false,
      diff: false,
    };
    const job = this.deps.history?.start("deploy", `token:${token.id}`, req);
    const log = this.logs.create(job?.id ?? crypto.randomUUID(), project, deployment);
    const key = `${project}/${deployment}`;
    const before = this.queue.get(key) ?? Promise.resolve();
    const done = before.then(async () => {
      try {
        const report = await run(log);
        job?.end(report);
      } catch (err) {
        const message = errorMessage(err);
        logLine("deploy.failed", {
          id: log.id,
          project,
          deployment,
          token: token.id,
          error: message,
        });
        log.emit("error", { message });
        job?.fail(message);
      } finally {
        log.end();
      }
    });
    this.queue.set(key, done);
    void done.finally(() => this.queue.get(key) === done && this.queue.delete(key));
    return log;
  }

  /** The body to disk, hashed and counted; unpacked, checked and kept as a release. Returns its id. */
  private async receive(
    project: string,
    deployment: string,
    token: TokenInfo,
    body: ReadableStream<Uint8Array>,
    log: DeployLog,
  ): Promise<string> {
    const { releases, limits } = this.deps;
    const base = await releases.incoming(project, deployment);
    const tar = `${base}.tar`,
      staged = `${base}.d`;
    try {
      const hash = createHash("sha256");
      let bytes = 0;
      // The tar's headers and padding come on top of the content: allowed a margin for them.
      const maxUpload = limits.maxBytes + (limits.maxEntries + 2) * 1536;
      const out = await open(tar, "wx", 0o600);
      try {
        for await (const chunk of body) {
          bytes += chunk.length;
          if (bytes > maxUpload)
            throw new SaltyError(
              `bundle refused: larger than ${maxUpload} bytes (--deploy-max-mb)`,
              "E_BUNDLE",
            );
          hash.update(chunk);
          await out.write(chunk);
        }
      } finally {
        await out.close();
      }
      const id = hash.digest("hex");
      log.emit("bundle-received", { bytes, release: id });
      if (!(await releases.exists(project, deployment, id))) {
        const got = await extractBundle(tar, staged, limits);
        await exposeUnderFiles(staged);
        await checkRelease(staged, deployment);
        const gitcommit = await Bun.file(`${staged}/.gitcommit`)
          .text()
          .catch(() => undefined);
        await releases.store(project, deployment, id, staged, {
          at: Date.now(),
          token: token.id,
          ...(gitcommit ? { gitcommit: gitcommit.trim().slice(0, 500) } : {}),
        });
        logLine("deploy.release", {
          project,
          deployment,
          release: id,
          entries: got.entries,
          bytes: got.bytes,
        });
      }
      return id;
    } finally {
      await rm(tar, { force: true });
      await rm(staged, { recursive: true, force: true });
    }
  }

  private async goLive(
    project: string,
    deployment: string,
    id: string,
    log: DeployLog,
    apply: ApplyWords,
  ): Promise<ApplyReport> {
    const { releases } = this.deps;
    const dir = releases.releaseDir(project, deployment, id);
    // Checked again: a release kept by an older build, or one rolled back to, is held to today's rules.
    const section = await checkRelease(dir, deployment);
    const previous = await releases.live(project, deployment);
    await releases.makeLive(project, deployment, id);
    log.emit("release-live", { release: id, ...(previous && previous !== id ? { previous } : {}) });
    if (!apply) return { hosts: [], elapsed: 0, rc: 0 };
    return this.apply({ project, deployment, dir }, section, log, apply);
  }

  private async apply(
    where: { project: string; deployment: string; dir: string },
    section: Awaited<ReturnType<typeof checkRelease>>,
    log: DeployLog,
    apply: Exclude<ApplyWords, false>,
  ): Promise<ApplyReport> {
    const { registry, scoping, keyroot } = this.deps;
    const { dir } = where;
    const words = apply.words;
    // Each role's inputs at its last successful run on each host (this deployment's own record): equal ones are not run again.
    const last = await lastInputs(this.deps.releases, where.project, where.deployment);
    // No decrypt: a project's fileroot holds no master secrets, and its .enc files are refused.
    const files = new FileServer({ fileroot: dir, keyroot });
    try {
      // Rollout words (batch=, max_fail=, gate=, ...): the rollout machinery (lib/master/rollout.ts) runs the apply in batches.
      const req: ApplyRequest = { args: words, dryRun: false, diff: false };
      const report = await applyOrRollout(req, {
        registry,
        scope: async (_req, connected) => {
          const scope = await scopeDeploy(section, connected, scoping);
          log.emit("apply-start", { hosts: scope.hosts.map((h) => h.id) });
          return scope;
        },
        roleSource: (name) => readRoleSource(dir, name),
        fileroot: files,
        ...(this.deps.inputKey ? { inputKey: this.deps.inputKey } : {}),
        ...(apply.force
          ? {}
          : {
              unchanged: (host: string, role: string, inputs: string) =>
                last.inputs.get(`${host}\0${role}`) === inputs,
            }),
        events: (e) => {
          if (e.type === "host_end") log.emit("host-result", hostResult(e.host));
          if (e.type === "batch_start")
            log.emit("batch-start", { batch: e.batch, of: e.of, hosts: e.hosts });
          if (e.type === "batch_end")
            log.emit("batch-end", {
              batch: e.batch,
              of: e.of,
              failed: e.failed,
              ...(e.stopped ? { stopped: e.stopped } : {}),
            });
        },
      });
      await last.save(report);
      const never = report.rollout?.neverAttempted ?? [];
      log.emit("apply-end", {
        rc: report.rc,
        hosts: report.hosts.length,
        failed: report.hosts.filter((h) => h.errors > 0).length,
        ...(never.length ? { neverAttempted: never } : {}),
        elapsed: report.elapsed,
      });
      return report;
    } finally {
      files.close();
    }
  }
}

function hostResult(h: HostReport): unknown {
  const failures = h.roles.flatMap((r) =>
    r.results
      .filter((x) => x.rc !== 0)
      .map((x) => `${r.role}: ${x.cmd}: ${(x.error ?? x.output ?? "").split("\n")[0]}`),
  );
  const unchanged = h.roles.filter((r) => r.skipped).length;
  return {
    host: h.id,
    status: h.status,
    errors: h.errors,
    changed: h.changed,
    ...(unchanged ? { unchanged } : {}),
    elapsed: h.elapsed,
    ...(failures.length ? { failures: failures.slice(0, 10) } : {}),
  };
}

/** Roles name sources under files/: `_artifacts/NAME` and `_source/...` are reached through files/_artifacts and files/_source, links inside the release. */
async function exposeUnderFiles(dir: string): Promise<void> {
  for (const name of ["_artifacts", "_source"]) {
    if (!(await lstat(join(dir, name)).catch(() => undefined))?.isDirectory()) continue;
    await mkdir(join(dir, "files"), { recursive: true, mode: 0o755 });
    if (await lstat(join(dir, "files", name)).catch(() => undefined))
      throw new SaltyError(
        `bundle refused: files/${name} is reserved (the bundle's ${name}/ is reached there)`,
        "E_BUNDLE",
      );
    await symlink(join("..", name), join(dir, "files", name));
  }
}

/** PROJECT/DEPLOYMENT/inputs.json: host -> role -> the input digest of its last successful run (lib/history/inputs.ts). */
async function lastInputs(
  releases: Releases,
  project: string,
  deployment: string,
): Promise<{ inputs: Map<string, string>; save(report: ApplyReport): Promise<void> }> {
  const path = join(releases.dir(project, deployment), "inputs.json");
  const inputs = new Map<string, string>(
    Object.entries(
      JSON.parse(
        await Bun.file(path)
          .text()
          .catch(() => "{}"),
      ) as Record<string, string>,
    ),
  );
  return {
    inputs,
    async save(report) {
      for (const h of report.hosts) {
        for (const r of h.roles) {
          const key = `${h.id}\0${r.role}`;
          if (r.inputs && r.errors === 0 && !r.skipped) inputs.set(key, r.inputs);
          else if (r.errors > 0) inputs.delete(key);
        }
      }
      const tmp = `${path}.${process.pid}.tmp`;
      await Bun.write(tmp, JSON.stringify(Object.fromEntries(inputs)));
      await rename(tmp, path);
    },
  };
}
