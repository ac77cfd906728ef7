// What every master is made of, whatever it listens on: the fileroot's secret
// key, the registry of connected agents, the confined file server, and the
// scheduler's view of the inventory. The daemon (server.ts) puts listeners in
// front of it; `salty bootstrap` an in-memory agent.

import { resolve } from "node:path";
import { decryptBytes, deriveKey, readPassword } from "../crypto/secrets.ts";
import { Registry } from "./registry.ts";
import { FileServer } from "./fileserver.ts";
import { planFromInventory, readRoleSource, resolvedInventory, type PlannerDeps } from "./apply-plan.ts";
import type { ControlDeps } from "./control-session.ts";

export interface MasterCore {
  fileroot: string;
  keyroot: string;
  registry: Registry;
  files: FileServer;
  /** What the scheduler and client sessions need: plan, role sources, meta. */
  control: ControlDeps;
  close(): void;
}

export async function masterCore(opts: { fileroot: string; keyroot: string }): Promise<MasterCore> {
  const fileroot = resolve(opts.fileroot);
  const keyroot = resolve(opts.keyroot);
  const password = await readPassword(keyroot);
  const secretKey = password ? deriveKey(password) : undefined;
  const registry = new Registry();
  const files = new FileServer({ fileroot, keyroot, ...(secretKey ? { decrypt: (b: Uint8Array) => decryptBytes(b, secretKey) } : {}) });
  const planner: PlannerDeps = { fileroot, factsOf: (id) => registry.get(id)?.facts, ...(secretKey ? { secretKey } : {}) };
  const control: ControlDeps = {
    registry,
    plan: (req, connected) => planFromInventory(req, connected, planner),
    meta: (showSecrets) => resolvedInventory(registry.ids(), showSecrets, planner),
    roleSource: (name) => readRoleSource(fileroot, name),
  };
  return { fileroot, keyroot, registry, files, control, close: () => files.close() };
}
