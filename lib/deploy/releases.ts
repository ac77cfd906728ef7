// The releases of each project/deployment on the master, under the deploy root:
//   ROOT/PROJECT/DEPLOYMENT/releases/HASH/       an unpacked bundle (the fileroot of its roles)
//   ROOT/PROJECT/DEPLOYMENT/releases/HASH.json   when, from which token, its .gitcommit
//   ROOT/PROJECT/DEPLOYMENT/live -> releases/HASH
//   ROOT/PROJECT/DEPLOYMENT/incoming/            uploads being received and unpacked
// A release is named by the SHA-256 of its bundle and never changed once made;
// going live is one rename of a new symlink over `live`, after the whole
// bundle is unpacked and checked (check.ts). The last `keep` releases stay
// (the live one always).

import {
  mkdir,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SaltyError } from "../errors.ts";
import { checkName } from "./names.ts";

export interface ReleaseInfo {
  id: string;
  at: number;
  token?: string;
  gitcommit?: string;
  live?: boolean;
}

export class Releases {
  constructor(
    readonly root: string,
    private keep: number,
  ) {}

  dir(project: string, deployment: string): string {
    return join(this.root, checkName(project, "project"), checkName(deployment, "deployment"));
  }

  releaseDir(project: string, deployment: string, id: string): string {
    if (!/^[0-9a-f]{64}$/.test(id))
      throw new SaltyError(`${JSON.stringify(id)} is not a release id`, "E_NOT_FOUND");
    return join(this.dir(project, deployment), "releases", id);
  }

  /** A fresh path under incoming/ for an upload (NAME.tar) and its unpacking (NAME.d). */
  async incoming(project: string, deployment: string): Promise<string> {
    const dir = join(this.dir(project, deployment), "incoming");
    await mkdir(dir, { recursive: true, mode: 0o750 });
    return join(dir, randomBytes(8).toString("hex"));
  }

  /** What uploads a stopped master left in incoming/: removed at start. */
  async clearIncoming(): Promise<void> {
    for (const project of await readdir(this.root).catch(() => [] as string[])) {
      for (const deployment of await readdir(join(this.root, project)).catch(
        () => [] as string[],
      )) {
        await rm(join(this.root, project, deployment, "incoming"), {
          recursive: true,
          force: true,
        });
      }
    }
  }

  /** The live release's id, or undefined before the first deploy. */
  async live(project: string, deployment: string): Promise<string | undefined> {
    const target = await readlink(join(this.dir(project, deployment), "live")).catch(
      () => undefined,
    );
    return target?.split("/").pop();
  }

  async exists(project: string, deployment: string, id: string): Promise<boolean> {
    return (
      (
        await stat(this.releaseDir(project, deployment, id)).catch(() => undefined)
      )?.isDirectory() ?? false
    );
  }

  /** Keep the unpacked, checked `staged` dir as release `id` (an identical release already there is kept instead). */
  async store(
    project: string,
    deployment: string,
    id: string,
    staged: string,
    meta: Omit<ReleaseInfo, "id" | "live">,
  ): Promise<void> {
    const dest = this.releaseDir(project, deployment, id);
    await mkdir(join(this.dir(project, deployment), "releases"), { recursive: true, mode: 0o750 });
    if (await this.exists(project, deployment, id)) {
      await rm(staged, { recursive: true, force: true });
    } else {
      await writeFile(`${dest}.json`, JSON.stringify({ id, ...meta }) + "\n");
      await rename(staged, dest);
    }
  }

  /** `id` live in one step: a new symlink renamed over `live`. */
  async makeLive(project: string, deployment: string, id: string): Promise<void> {
    if (!(await this.exists(project, deployment, id)))
      throw new SaltyError(
        `no release ${id} of ${project}/${deployment} (see salty deploy list)`,
        "E_NOT_FOUND",
      );
    const dir = this.dir(project, deployment);
    const tmp = join(dir, `.live-${randomBytes(6).toString("hex")}`);
    await symlink(join("releases", id), tmp);
    await rename(tmp, join(dir, "live"));
    await this.prune(project, deployment);
  }

  /** Releases newest first, with the live one marked. */
  async list(project: string, deployment: string): Promise<ReleaseInfo[]> {
    const dir = join(this.dir(project, deployment), "releases");
    const names = await readdir(dir).catch(() => [] as string[]);
    const live = await this.live(project, deployment);
    const out: ReleaseInfo[] = [];
    for (const n of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n))) {
      const info = JSON.parse(
        await readFile(join(dir, n), "utf8").catch(() => "{}"),
      ) as ReleaseInfo;
      if (info.id) out.push({ ...info, ...(info.id === live ? { live: true } : {}) });
    }
    return out.sort((a, b) => b.at - a.at || (a.id < b.id ? -1 : 1));
  }

  /** The deployments of a project that have releases. */
  async deployments(project: string): Promise<string[]> {
    return (
      await readdir(join(this.root, checkName(project, "project"))).catch(() => [] as string[])
    ).sort();
  }

  /** The release before the live one (for a rollback without --to). */
  async previous(project: string, deployment: string): Promise<string> {
    const all = await this.list(project, deployment);
    const i = all.findIndex((r) => r.live);
    const prev = i >= 0 ? all[i + 1] : undefined;
    if (!prev)
      throw new SaltyError(
        `${project}/${deployment} has no release before the live one to roll back to`,
        "E_NOT_FOUND",
      );
    return prev.id;
  }

  private async prune(project: string, deployment: string): Promise<void> {
    const all = await this.list(project, deployment);
    for (const r of all.slice(this.keep)) {
      if (r.live) continue;
      await rm(this.releaseDir(project, deployment, r.id), { recursive: true, force: true });
      await rm(`${this.releaseDir(project, deployment, r.id)}.json`, { force: true });
    }
  }
}
