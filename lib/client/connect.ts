// How client commands reach the master: the local Unix socket in the keyroot
// (file permissions are the authentication), or a remote master over the
// secure channel with this client's own accepted key.

import { join } from "node:path";
import { SaltyError } from "../errors.ts";
import { Rpc, type Handlers } from "../wire/rpc.ts";
import { connectUnix } from "../wire/tcp.ts";
import type { ClientApi, ControlApi } from "../wire/api.ts";

export interface ConnectOptions {
  keyroot: string;
  /** HOST[:PORT] of a remote master; absent: the local socket. */
  master?: string;
}

export async function connectControl(opts: ConnectOptions, handlers: Handlers<ClientApi>): Promise<Rpc<ClientApi, ControlApi>> {
  if (opts.master) return connectRemote(opts, handlers);
  const path = join(opts.keyroot, "master.sock");
  try {
    return new Rpc<ClientApi, ControlApi>(await connectUnix(path), handlers);
  } catch (err) {
    throw new SaltyError(`cannot reach the master at ${path}: is \`salty master --keyroot ${opts.keyroot}\` running on this host? (${(err as Error).message})`, "E_CONNECT");
  }
}

async function connectRemote(opts: ConnectOptions, _handlers: Handlers<ClientApi>): Promise<Rpc<ClientApi, ControlApi>> {
  throw new SaltyError(`remote masters (--master ${opts.master}) need the secure client, not wired yet`, "E_USAGE");
}

/** No handlers a command does not need: progress is ignored unless given. */
export const quietClient: Handlers<ClientApi> = { "apply.progress": () => null };
