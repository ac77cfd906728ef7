// What `salty deploy` uploads, built into a temporary tar file (tar-write.ts,
// streamed: flat memory whatever the artifacts weigh): the --dir's contents
// at the root (roles/, files/, top.ts), each --artifact under _artifacts/,
// the source under _source/ (git archive, or the working tree minus VCS data
// and the --dir), and .gitcommit (the commit hash, then `git describe`).

import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, normalize, relative, resolve } from "node:path";
import { SaltyError, UsageError } from "../errors.ts";
import { TarWriter } from "./tar-write.ts";
import { extractBundle } from "./tar-read.ts";

export interface BundleOptions {
  dir: string;
  artifacts: string[];
  source?: "git" | "fs";
  /** Told when git is missing or the directory is not a repository. */
  warn(line: string): void;
}

async function git(args: string[], cwd: string): Promise<string | undefined> {
  try {
    const p = Bun.spawn(["git", ...args], { cwd, stdout: "pipe", stderr: "ignore" });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return code === 0 ? out.trim() : undefined;
  } catch {
    return undefined; // no git binary
  }
}

/** The artifact's name under _artifacts/: its path as given, relative and inside the working directory. */
function artifactName(path: string): string {
  const rel = normalize(relative(process.cwd(), resolve(path)));
  if (rel.startsWith("..") || rel === "" || rel === ".")
    throw new UsageError(`--artifact ${path}: must lie under the current directory`);
  return `_artifacts/${rel.split("\\").join("/")}`;
}

/** The bundle as a temporary file; `cleanup` removes it. */
export async function buildBundle(
  opts: BundleOptions,
): Promise<{ path: string; cleanup(): Promise<void> }> {
  if (!(await stat(opts.dir).catch(() => undefined))?.isDirectory())
    throw new UsageError(
      `--dir ${opts.dir}: no such directory (it holds top.ts, roles/ and files/)`,
    );
  const tmp = await mkdtemp(join(tmpdir(), "salty-bundle-"));
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  try {
    const path = join(tmp, "bundle.tar");
    const tar = await TarWriter.create(path);
    const reserved = (name: string) =>
      name === "_artifacts" || name === "_source" || name === ".gitcommit" || name === ".git";
    await tar.tree("", opts.dir, (name) => reserved(name.split("/")[0]!));
    for (const a of opts.artifacts) {
      if (!(await stat(a).catch(() => undefined)))
        throw new UsageError(`--artifact ${a}: no such file or directory`);
      await tar.tree(artifactName(a), a);
    }
    if (opts.source === "git") {
      const archive = join(tmp, "source.tar");
      if (
        (await git(["archive", "--format=tar", "-o", archive, "HEAD"], process.cwd())) === undefined
      )
        throw new SaltyError(
          "--include-source git: git archive HEAD failed (not a git repository, or no commit)",
          "E_BUNDLE",
        );
      await extractBundle(archive, join(tmp, "source"), {
        maxEntries: 1_000_000,
        maxBytes: Number.MAX_SAFE_INTEGER,
      });
      await tar.tree("_source", join(tmp, "source"));
    } else if (opts.source === "fs") {
      const dirRel = normalize(relative(process.cwd(), resolve(opts.dir)));
      const vcs = new Set([".git", ".hg", ".svn"]);
      await tar.tree("_source", process.cwd(), (name) => {
        const rel = name.slice("_source/".length);
        return vcs.has(rel.split("/").pop()!) || rel === dirRel;
      });
    }
    const commit = await git(["rev-parse", "HEAD"], process.cwd());
    if (commit) {
      const describe =
        (await git(["describe", "--always", "--tags", "--dirty"], process.cwd())) ?? "";
      await tar.bytes(".gitcommit", new TextEncoder().encode(`${commit}\n${describe}\n`));
    } else {
      opts.warn(
        "warning: no git commit here (no git, or not a repository): the release has no .gitcommit",
      );
    }
    await tar.close();
    return { path, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
