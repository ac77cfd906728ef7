// The deploy API as the master daemon starts it (--http): the token store in
// the history's database, the releases under the deploy root, the service and
// its HTTP server. The deploy root must lie outside the keyroot.

import { mkdir, realpath } from "node:fs/promises";
import { dirname, join, relative, resolve, isAbsolute } from "node:path";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { MasterCore } from "../master/core.ts";
import type { Recorder } from "../history/recorder.ts";
import { TokenStore } from "./tokens.ts";
import { Releases } from "./releases.ts";
import { DeployService } from "./service.ts";
import { serveHttp } from "./http.ts";

export interface DeployHttpOptions {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  /** Where releases live; default: `deploys` beside the fileroot. */
  deployRoot?: string;
  keep: number;
  maxEntries: number;
  maxBytes: number;
}

/** `deploys` next to the base fileroot. */
export function defaultDeployRoot(fileroot: string): string {
  return join(dirname(resolve(fileroot)), "deploys");
}

const inside = (dir: string, p: string) => {
  const r = relative(dir, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
};

export async function startDeploys(
  opts: DeployHttpOptions,
  deps: { core: MasterCore; history: Recorder; inputKey?: Uint8Array },
): Promise<{ port: number; close(): Promise<void> }> {
  const { core, history } = deps;
  const root = resolve(opts.deployRoot ?? defaultDeployRoot(core.fileroot));
  await mkdir(root, { recursive: true, mode: 0o750 });
  const real = await realpath(root);
  if (inside(await realpath(core.keyroot), real))
    throw new UsageError(
      `--deploy-root ${root} lies inside the keyroot: roles would be refused every file (and must never come near the keys)`,
    );
  const releases = new Releases(real, opts.keep);
  await releases.clearIncoming();
  const scoping = {
    fileroot: core.fileroot,
    factsOf: (id: string) => core.registry.get(id)?.facts,
    get secretKey() {
      return core.keys.current();
    },
  };
  const service = new DeployService({
    releases,
    keyroot: core.keyroot,
    registry: core.registry,
    scoping,
    limits: { maxEntries: opts.maxEntries, maxBytes: opts.maxBytes },
    history,
    ...(deps.inputKey ? { inputKey: deps.inputKey } : {}),
  });
  const server = serveHttp({
    host: opts.host,
    port: opts.port,
    ...(opts.tls ? { tls: opts.tls } : {}),
    tokens: new TokenStore(history.store),
    service,
    releases,
  });
  log("master.http", {
    bind: `${opts.host}:${server.port}`,
    tls: opts.tls ? "yes" : "no",
    deploy_root: real,
  });
  return server;
}
