// A real secure listener on 127.0.0.1 with echo sessions, and clients for it.

import nacl from "tweetnacl";
import { listenSecure, type SecureListener } from "../../lib/wire/secure-listener.ts";
import { secureClient, type Decision, type Peer, type SealedLink } from "../../lib/wire/secure.ts";
import { connectTcp } from "../../lib/wire/tcp.ts";
import type { Identity } from "../../lib/crypto/keys.ts";
import { setLogSink } from "../../lib/log.ts";
import { collect, str, text } from "./_helpers.ts";

export interface Session {
  peer: Peer;
  link: SealedLink;
  closed: Promise<string>;
}

export interface Fixture {
  master: Identity;
  listener: SecureListener;
  sessions: Session[];
  connect(
    id: string,
    opts?: { identity?: Identity; masterKey?: Uint8Array; port?: number; kind?: Peer["kind"] },
  ): Promise<SealedLink>;
}

/** Log lines of the test process, captured (and kept off the test output). */
export const logs: string[] = [];
setLogSink((line) => logs.push(line));

/** A listener whose sessions echo every frame back, prefixed with "echo:". */
export async function secureFixture(
  cleanups: Array<() => unknown>,
  decide: (p: Peer) => Decision | Promise<Decision> = () => ({ accept: true }),
): Promise<Fixture> {
  const master = nacl.sign.keyPair();
  const sessions: Session[] = [];
  const listener = await listenSecure({
    host: "127.0.0.1",
    port: 0,
    identity: master,
    decide,
    onSession(link, peer) {
      const closed = new Promise<string>((r) => link.onClose(r));
      link.onFrame((f) => link.send(text(`echo:${str(f)}`)));
      sessions.push({ peer, link, closed });
    },
  });
  cleanups.push(() => listener.close());
  const connect: Fixture["connect"] = async (id, opts = {}) => {
    const raw = await connectTcp("127.0.0.1", opts.port ?? listener.port);
    cleanups.push(() => raw.close());
    const { link } = await secureClient(raw, {
      identity: opts.identity ?? nacl.sign.keyPair(),
      id,
      kind: opts.kind ?? "agent",
      masterKey: opts.masterKey,
    });
    return link;
  };
  return { master, listener, sessions, connect };
}

/** One echo round trip on an established client link (its handlers are taken over). */
export async function roundTrip(link: SealedLink, msg: string): Promise<string> {
  const c = collect(link);
  link.send(text(msg));
  return str(await c.next());
}
