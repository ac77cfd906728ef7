// The master daemon, assembled: the secure TCP listener for agents and remote
// clients, the local Unix socket for client commands, the registry, the file
// server and the scheduler. Everything it needs is built here from options;
// cmd/master.ts only parses arguments and waits for a signal.

import { mkdir, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { log } from "../log.ts";
import { version } from "../version.ts";
import { loadOrCreateIdentity, fingerprint } from "../crypto/keys.ts";
import { listenUnix } from "../wire/tcp.ts";
import { listenSecure } from "../wire/secure-listener.ts";
import { KeyStore } from "./keystore.ts";
import { DbKeyRecords, KEYS_DB_FILE } from "./keystore-db.ts";
import { CachedKeyFiles } from "./key-cache.ts";
import { presence, type Presence } from "./presence.ts";
import { openPostgres } from "../history/postgres.ts";
import { writeReplace } from "../crypto/_files.ts";
import { watchKeys } from "./key-watch.ts";
import type { Registry } from "./registry.ts";
import { masterCore, type MasterCore } from "./core.ts";
import { secretsInFileroot } from "./secret-key-source.ts";
import { PASSWORD_FILE } from "../crypto/secrets.ts";
import { serveAgent, type MasterDeps } from "./agent-session.ts";
import { serveClient } from "./control-session.ts";
import { startupWait } from "./startup-wait.ts";
import { controlPeers, guardKeyroot } from "./local-guard.ts";
import { peerUid } from "../sys/peer-cred.ts";
import type { ServerShell } from "./server-shell.ts";
import { scheduledApplies } from "./scheduled.ts";
import { pullReports } from "./pull-report.ts";
import { openRecorder, type HistoryOptions } from "../history/open.ts";
import type { Recorder } from "../history/recorder.ts";
import { inputKey } from "../history/inputs.ts";

export interface MasterOptions {
  host: string;
  port: number;
  keyroot: string;
  fileroot: string;
  autoAccept: boolean;
  /** Runs serverShell requests; absent unless --allow-server-shell. */
  serverShell?: ServerShell;
  /** The job history: --db, --history-keep, --history-days, --history-max-mb (lib/history/open.ts). */
  history?: Omit<HistoryOptions, "keyroot">;
  /**
   * The deploy API (--http), started once the master listens: cmd/master.ts passes deploy/start.ts's
   * startDeploys (deploy/ builds on master/, so master/ does not import it). Absent, none is served.
   */
  http?: (deps: {
    core: MasterCore;
    history: Recorder;
    inputKey: Uint8Array;
  }) => Promise<{ port: number; close(): Promise<void> }>;
  /** Several masters: this one's name in the shared database's presence table (default HOSTNAME:PORT); used with history.db only. */
  name?: string;
}

export interface RunningMaster {
  port: number;
  /** The deploy API's port, with --http. */
  httpPort?: number;
  registry: Registry;
  close(): Promise<void>;
}

/** Secrets in the fileroot and no password: every apply that needs one would fail; say so now, and how to fix it. */
async function warnWithoutPassword(fileroot: string, keyroot: string): Promise<void> {
  const found = await secretsInFileroot(fileroot);
  const hint = "write it (or set $SALTY_PASSWORD): it is read at the next apply, no restart needed";
  if (found) log("master.no_crypto_pass", { found, missing: join(keyroot, PASSWORD_FILE), hint });
}

export async function startMaster(opts: MasterOptions): Promise<RunningMaster> {
  const undo: Array<() => unknown> = [];
  try {
    return await start(opts, undo);
  } catch (err) {
    // A master that cannot start (its port taken, its database refusing) stops what it had started
    // (watchers, timers, connections), so that its process ends with the error instead of lingering.
    for (const close of undo.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => {});
    throw err;
  }
}

/** `undo`: what to stop, in reverse, if the start fails after it. */
async function start(opts: MasterOptions, undo: Array<() => unknown>): Promise<RunningMaster> {
  await mkdir(opts.keyroot, { recursive: true, mode: 0o700 });
  guardKeyroot(opts.keyroot);
  const core = await masterCore(opts);
  undo.push(() => core.close());
  const { keyroot, registry, files } = core;
  const history = openRecorder({ keyroot, ...opts.history });
  undo.push(() => history.close());
  const identity = await loadOrCreateIdentity(keyroot, "master");
  // With --db, keys live in the database every master shares (keystore-db.ts); else in files.
  const db = opts.history?.db;
  const dbKeys = db ? new DbKeyRecords(openPostgres(db)) : undefined;
  undo.push(() => dbKeys?.close());
  const keyRecords = dbKeys ?? new CachedKeyFiles(keyroot);
  if (db) await writeReplace(join(keyroot, KEYS_DB_FILE), db + "\n", 0o600);
  else await unlink(join(keyroot, KEYS_DB_FILE)).catch(() => {});
  const keystore = new KeyStore(keyroot, { autoAccept: opts.autoAccept }, keyRecords);
  const knownAgents = async () =>
    (await keystore.list())
      .filter((e) => e.kind === "agent" && e.status === "accepted")
      .map((e) => e.id);
  const awaitKnownAgents = startupWait({
    startedAt: performance.now(),
    knownAgents,
    connectedIds: () => registry.ids(),
    isConnected: (id) => registry.get(id) !== undefined,
    scope: core.control.scope,
  });
  const pendingAgents = async () =>
    (await keystore.list())
      .filter((e) => e.kind === "agent" && e.status === "pending")
      .map((e) => e.id);
  const controlDeps = {
    ...core.control,
    awaitKnownAgents,
    history,
    inputKey: inputKey(keyroot),
    ...(core.control.adhoc ? { adhoc: { ...core.control.adhoc, pendingAgents } } : {}),
  };
  const agentDeps: MasterDeps = {
    registry,
    files,
    version: version.version,
    ...(opts.serverShell ? { serverShell: opts.serverShell } : {}),
    applyMe: scheduledApplies({
      control: { ...core.control, history, inputKey: controlDeps.inputKey },
      files,
    }),
    pullReport: pullReports(history),
  };

  const keys = await watchKeys(keyroot, keystore);
  undo.push(() => keys.close());
  let here: Presence | undefined;
  const tcp = await listenSecure({
    host: opts.host,
    port: opts.port,
    identity,
    decide: (peer, from) => keystore.decide(peer, from),
    onSession: (link, peer) =>
      keys.add(
        peer,
        peer.kind === "agent"
          ? serveAgent(link, peer.id, agentDeps)
          : serveClient(link, controlDeps, { remote: peer.id }),
      ),
  });
  undo.push(() => tcp.close());
  // The peer's uid read while admitting a connection, for the job history's "who": the link of that
  // same connection reaches onLink right after (lib/wire/tcp.ts calls both in one go).
  const guard = controlPeers();
  let localUid: number | undefined;
  const admit = (fd: number | undefined) => {
    const peer = peerUid(fd);
    localUid = "uid" in peer ? peer.uid : undefined;
    return guard(fd);
  };
  const unix = await listenUnix(
    join(keyroot, "master.sock"),
    (link) => serveClient(link, controlDeps, { localUid }),
    { admit },
  );
  undo.push(() => unix.close());
  if (db) {
    const name = opts.name ?? `${hostname()}:${tcp.port}`;
    here = presence(openPostgres(db), name, () => registry.ids());
    const p = here;
    undo.push(() => p.close());
    registry.watch((id, connected) => (connected ? p.connected(id) : p.disconnected(id)));
    controlDeps.elsewhere = (ids) => p.elsewhere(ids);
    log("master.shared", { name, db: "postgres" });
  }
  log("master.listening", {
    bind: `${opts.host}:${tcp.port}`,
    socket: join(keyroot, "master.sock"),
    fingerprint: fingerprint(identity.publicKey),
  });
  if (!core.keys.current()) void warnWithoutPassword(core.fileroot, keyroot);
  const http = opts.http
    ? await opts.http({ core, history, inputKey: controlDeps.inputKey })
    : undefined;
  return {
    port: tcp.port,
    ...(http ? { httpPort: http.port } : {}),
    registry,
    async close() {
      await http?.close();
      core.close();
      keys.close();
      await Promise.all([tcp.close(), unix.close()]);
      await history.close(); // what waits is written, or spooled for the next start
      await here?.close();
      await dbKeys?.close();
    },
  };
}
