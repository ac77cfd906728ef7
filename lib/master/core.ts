// What every master is made of, whatever it listens on: the fileroot's secret
// key, the registry of connected agents, the confined file server, and the
// scheduler's view of the inventory. The daemon (server.ts) puts listeners in
// front of it; `salty bootstrap` an in-memory agent.

import { resolve } from "node:path";
import { decryptBytes } from "../crypto/secrets.ts";
import { SecretKeySource } from "./secret-key-source.ts";
import { Registry } from "./registry.ts";
import { FileServer } from "./fileserver.ts";
import {
  scopeFromInventory,
  readRoleSource,
  resolvedInventory,
  type ScopeDeps,
} from "./apply-scope.ts";
import type { ControlDeps } from "./control-session.ts";
import { secretPlaintexts, selectHosts } from "./targeting.ts";

export interface MasterCore {
  fileroot: string;
  keyroot: string;
  registry: Registry;
  files: FileServer;
  /** The key of crypto.pass (or the environment), read when needed. */
  keys: SecretKeySource;
  /** What the scheduler and client sessions need: scope, role sources, meta. */
  control: ControlDeps;
  close(): void;
}

export async function masterCore(opts: { fileroot: string; keyroot: string }): Promise<MasterCore> {
  const fileroot = resolve(opts.fileroot);
  const keyroot = resolve(opts.keyroot);
  const keys = new SecretKeySource(keyroot);
  keys.current(); // an unreadable or empty crypto.pass stops the start, as a typo should
  const registry = new Registry();
  // Getters: each use asks `keys`, so a crypto.pass added or changed later is used without a restart.
  const files = new FileServer({
    fileroot,
    keyroot,
    get decrypt() {
      const key = keys.current();
      return key ? (b: Uint8Array) => decryptBytes(b, key) : undefined;
    },
  });
  const scoping: ScopeDeps = {
    fileroot,
    factsOf: (id) => registry.get(id)?.facts,
    get secretKey() {
      return keys.current();
    },
  };
  const control: ControlDeps = {
    registry,
    scope: (req, connected) => scopeFromInventory(req, connected, scoping),
    meta: (showSecrets) => resolvedInventory(registry.ids(), showSecrets, scoping),
    roleSource: (name) => readRoleSource(fileroot, name),
    adhoc: {
      select: (target) =>
        selectHosts(target, {
          fileroot,
          connected: () => registry.ids(),
          factsOf: scoping.factsOf,
          get secretKey() {
            return keys.current();
          },
        }),
      secretsOf: (host) => secretPlaintexts(host, keys.current()),
    },
  };
  return { fileroot, keyroot, registry, files, keys, control, close: () => files.close() };
}
