// How client commands reach the master: the local Unix socket in the keyroot
// (file permissions are the authentication), or a remote master over the
// secure channel with this client's own key, which the master must accept
// (`salty keys accept ID --kind client`) like an agent's.

import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { lookedNote } from "./keyroot.ts";
import { connectUnixLink } from "./unix-link.ts";
import { Rpc, type Handlers } from "../wire/rpc.ts";
import type { ClientApi, ControlApi } from "../wire/api.ts";

export interface ConnectOptions {
  keyroot: string;
  /** How the keyroot was found (lib/client/keyroot.ts): named in the error when the socket is not there. */
  searched?: string[];
  /** HOST[:PORT] of a remote master; absent: the local socket. */
  master?: string;
}

export async function connectControl(
  opts: ConnectOptions,
  handlers: Handlers<ClientApi>,
): Promise<Rpc<ClientApi, ControlApi>> {
  if (opts.master) return connectRemote(opts.master, opts.keyroot, handlers);
  const path = join(opts.keyroot, "master.sock");
  try {
    return new Rpc<ClientApi, ControlApi>(await connectUnixLink(path), handlers);
  } catch (err) {
    // A reset as the connection opens (wire/dial.ts): the master is there and closed it at once (a user it does not serve).
    if (err instanceof SaltyError && err.code === "E_CONN_LOST")
      throw new SaltyError(
        `connection lost: the master at ${path} closed the connection as it opened (is this user allowed on its socket? see its log)`,
        "E_CONN_LOST",
      );
    throw new SaltyError(
      `cannot reach the master at ${path}: is \`salty master --keyroot ${opts.keyroot}\` running on this host? (${errorMessage(err)})${lookedNote(opts.searched)}`,
      "E_CONNECT",
    );
  }
}

/** This client's id on the master: host and user, in the characters an id allows. */
export function clientId(): string {
  return `${hostname()}-${userInfo().username}`.replace(/[^A-Za-z0-9._-]/g, "_");
}

async function connectRemote(
  master: string,
  keyroot: string,
  handlers: Handlers<ClientApi>,
): Promise<Rpc<ClientApi, ControlApi>> {
  // Loaded here: the local socket needs no keys, handshake or TCP (start-up is every command's time).
  const [{ parseHostPort }, { loadOrCreateIdentity }, { connectSecure }] = await Promise.all([
    import("../wire/address.ts"),
    import("../crypto/keys.ts"),
    import("../wire/connect-secure.ts"),
  ]);
  const { host, port } = parseHostPort(master, "--master");
  const identity = await loadOrCreateIdentity(keyroot, "client");
  const id = clientId();
  try {
    const { link } = await connectSecure({ host, port, keyroot, identity, id, kind: "client" });
    return new Rpc<ClientApi, ControlApi>(link, handlers);
  } catch (err) {
    if (err instanceof SaltyError && err.code === "E_KEY_PENDING") {
      throw new SaltyError(
        `this client's key is pending on ${master}: run "salty keys accept ${id} --kind client" there`,
        err.code,
      );
    }
    throw err;
  }
}

/** No handlers a command does not need: progress is ignored unless given. */
export const quietClient: Handlers<ClientApi> = {
  "apply.progress": () => null,
  "run.event": () => null,
  "apply.event": () => null,
};
