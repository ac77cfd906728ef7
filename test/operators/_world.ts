// A throwaway world for operator tests: a temp dir holding the destination
// tree (used as --path PREFIX) and a fileroot for the fake master, filled from
// a fixture; a snapshot of the tree to compare; and the OpCtx wired to it.

import {
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { HostContext } from "salty";
import { AgentCache, type CompiledTemplates } from "../../lib/operators/cache.ts";
import type { Caps, OpCtx } from "../../lib/operators/types.ts";
import { nsToSeconds, realDisk } from "../../lib/sys/disk.ts";
import { realExec } from "../../lib/sys/exec.ts";
import { createObserve } from "../../lib/sys/observe.ts";
import { realProbe } from "../../lib/sys/probe.ts";
import { createRuntime } from "../../lib/sys/runtime.ts";
import { limits } from "../../lib/constants.ts";
import type { Users } from "../../lib/sys/types.ts";
import { createUsers } from "../../lib/sys/users.ts";
import { walkTree } from "../../lib/sys/walk.ts";
import {
  counters,
  countingObserve,
  dirSource,
  fakeProbe,
  fakeSystem,
  systemProbe,
  type Counters,
  type ProbeFixture,
  type SystemFixture,
} from "./_fakes.ts";
import { tempDir } from "../_temp.ts";

/** A file's content, or its details. */
export type Entry =
  | string
  | null
  | {
      content?: string;
      repeat?: [string, number];
      mode?: string;
      user?: string;
      group?: string;
      mtimeNs?: string;
      dir?: true;
      symlink?: string;
    };

export type Tree = Record<string, Entry>;

export const octal = (s: string | undefined, dflt: number): number =>
  s === undefined ? dflt : Number.parseInt(s.replace(/^0o/, ""), 8);

const realUsers = createUsers();

async function ids(
  users: Users,
  user?: string,
  group?: string,
): Promise<{ uid: number; gid: number }> {
  const u = user ? await users.user(user) : await users.self();
  if (!u) throw new Error(`fixture user ${user} does not exist`);
  return { uid: u.uid, gid: group ? (await users.group(group))! : u.gid };
}

function contentOf(e: Exclude<Entry, string | null>): string {
  return e.repeat ? e.repeat[0].repeat(e.repeat[1]) : (e.content ?? "");
}

/** Create `tree` under `root` (paths in the tree are absolute or fileroot-relative). */
export async function plant(root: string, tree: Tree): Promise<void> {
  const times: [string, string][] = [];
  for (const [path, entry] of Object.entries(tree)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    if (entry === null) continue;
    const e = typeof entry === "string" ? { content: entry } : entry;
    if (e.symlink !== undefined) symlinkSync(e.symlink, full);
    else if (e.dir) mkdirSync(full, { recursive: true });
    else writeFileSync(full, contentOf(e));
    if (e.symlink === undefined) chmodSync(full, octal(e.mode, e.dir ? 0o755 : 0o644));
    if (e.user || e.group) {
      const o = await ids(realUsers, e.user, e.group);
      chownSync(full, o.uid, o.gid);
    }
    if (e.mtimeNs) times.push([full, e.mtimeNs]);
  }
  // Deepest first, after everything is made: making children changes a directory's mtime.
  for (const [full, ns] of times.sort((a, b) => b[0].length - a[0].length))
    utimesSync(full, nsToSeconds(BigInt(ns)), nsToSeconds(BigInt(ns)));
}

export interface Snap {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: string;
  content?: string;
  target?: string;
}

/** Everything below `root`, by absolute role path. */
export function snapshot(root: string): Record<string, Snap> {
  const out: Record<string, Snap> = {};
  for (const it of walkTree(root)) {
    const full = join(root, it.path);
    const st = lstatSync(full, { bigint: true });
    const s: Snap = {
      type: it.type,
      mode: it.mode,
      uid: it.uid!,
      gid: it.gid!,
      mtimeNs: String(st.mtimeNs),
    };
    if (it.type === "file") s.content = readFileSync(full, "utf8");
    if (it.type === "symlink") s.target = readlinkSync(full);
    out[`/${it.path}`] = s;
  }
  return out;
}

export const baseContext: HostContext = {
  id: "web1.test",
  me: { env: "dev", cluster: "lab", roles: ["web"], vars: { weight: 3 } },
  role: "web",
  hosts: {},
  bootstrap: false,
  args: {},
};

export interface WorldOpts {
  master?: Tree;
  fs?: Tree;
  system?: SystemFixture;
  /** Captured probe answers; without it the real probe runs. */
  probe?: ProbeFixture;
  serverShell?: boolean;
  dryRun?: boolean;
  diff?: boolean;
  context?: Partial<HostContext>;
  /** Compiled templates shared with other worlds, as runner.ts shares them between a thread's executors. */
  templates?: CompiledTemplates;
}

export interface World {
  root: string;
  prefix: string;
  fileroot: string;
  cache: AgentCache;
  n: Counters;
  ctx(over?: Partial<OpCtx>): OpCtx;
  [Symbol.dispose](): void;
}

export async function makeWorld(o: WorldOpts = {}): Promise<World> {
  const scratch = tempDir("salty-op-");
  const root = scratch.path;
  const prefix = join(root, "dst"),
    fileroot = join(root, "fileroot");
  mkdirSync(prefix), mkdirSync(fileroot);
  await plant(fileroot, o.master ?? {});
  await plant(prefix, o.fs ?? {});
  const cache = new AgentCache(o.templates);
  const n = counters();
  const fake = o.system ? fakeSystem(o.system) : undefined;
  const caps: Caps = {
    observe: countingObserve(createObserve(cache.hashes), n),
    disk: realDisk,
    files: dirSource(fileroot, n),
    users: fake?.users ?? realUsers,
    exec: fake?.exec ?? realExec,
    probe: fake
      ? systemProbe(o.probe ? fakeProbe(o.probe) : realProbe, fake.files)
      : o.probe
        ? fakeProbe(o.probe)
        : realProbe,
    cache,
    runtime: createRuntime({ gcEveryBytes: limits.gcEveryReceivedBytes }),
    // The master's side is lib/master/server-shell.ts (test/e2e/server-shell.test.ts): here, what reaches it.
    ...(o.serverShell
      ? {
          serverShell: async (req) => ({
            cmd: `serverShell(${req.name})`,
            rc: 0,
            changed: true,
            elapsed: 0,
            output: `on-master ${req.name} ${JSON.stringify(req.args ?? null)}`,
          }),
        }
      : {}),
    dryRun: o.dryRun ?? false,
    diff: o.diff ?? false,
    pathPrefix: prefix,
  };
  const context = { ...baseContext, ...o.context };
  return {
    root,
    prefix,
    fileroot,
    cache,
    n,
    ctx: (over = {}) => ({
      ...caps,
      locals: { ...context, myIp: () => undefined, getIps: () => [] },
      ...over,
    }),
    [Symbol.dispose]: () => scratch[Symbol.dispose](),
  };
}
