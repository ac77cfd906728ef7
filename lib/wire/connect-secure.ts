// Dialling a master as an agent or a remote client, in one place: TCP, the
// handshake with this host's identity, and the master's key pinned at the
// first successful handshake (trust on first use ends there, even while this
// key is still pending: a refusal proves the master's key too). A master whose
// key differs from the pinned one is refused (E_MASTER_KEY_CHANGED, naming the
// pin file to remove after a genuine re-install).

import { join } from "node:path";
import { pinFirstContact, readPinnedMasterKey, type Identity } from "../crypto/keys.ts";
import { MasterRefusedError, secureClient } from "./secure.ts";
import type { SealedLink } from "./_sealed.ts";
import { connectTcp, type SocketLink } from "./tcp.ts";

export interface SecureDial {
  host: string;
  port: number;
  /** Where the pin lives (KEYROOT/master.pub). */
  keyroot: string;
  identity: Identity;
  id: string;
  kind: "agent" | "client";
  /** Aborting closes the socket, during the handshake too. */
  signal?: AbortSignal;
  /** The source address (default: the system's choice). */
  localAddress?: string | undefined;
}

/** An authenticated link to the master and the socket under it (close the socket when done). */
export async function connectSecure(
  o: SecureDial,
): Promise<{ link: SealedLink; socket: SocketLink }> {
  // The pin is read before dialling: the hello leaves the moment the socket connects, and a master in a
  // reconnect storm does not hold a slot for a peer that says nothing while its disk is read.
  const pinned = await readPinnedMasterKey(o.keyroot);
  const socket = await connectTcp(
    o.host,
    o.port,
    o.localAddress ? { localAddress: o.localAddress } : {},
  );
  const stop = () => socket.close("stopping");
  o.signal?.addEventListener("abort", stop);
  const master = `${o.host}:${o.port}`;
  try {
    const opts = {
      identity: o.identity,
      id: o.id,
      kind: o.kind,
      pinnedAt: join(o.keyroot, "master.pub"),
      ...(pinned ? { masterKey: pinned } : {}),
    };
    const { link, masterKey } = await secureClient(socket, opts).catch(async (err) => {
      if (!pinned && err instanceof MasterRefusedError)
        await pinFirstContact(o.keyroot, err.masterKey, master);
      throw err;
    });
    if (!pinned) await pinFirstContact(o.keyroot, masterKey, master);
    return { link, socket };
  } catch (err) {
    socket.close("handshake failed");
    throw err;
  } finally {
    o.signal?.removeEventListener("abort", stop);
  }
}
