// The secure channel: a SIGMA-style handshake on a fresh link (both sides
// authenticated by Ed25519 over the transcript, ephemeral X25519 for forward
// secrecy), then sealed frames. The server decides whether the authenticated
// peer may stay and says so in the first sealed frame. Nothing from the peer is
// msgpack-decoded here; pre-authentication frames are capped at
// limits.maxHandshakeFrame. Protocol: docs/protocol.md.

import { limits, timing } from "../constants.ts";
import { ProtocolError, SaltyError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import {
  fingerprint,
  masterKeyChanged,
  samePublicKey,
  validateId,
  type Identity,
} from "../crypto/keys.ts";
import * as hs from "./_handshake.ts";
import { SealedLink, type RawLink } from "./_sealed.ts";

export type { Identity } from "../crypto/keys.ts";
export type { RawLink, SealedLink } from "./_sealed.ts";

export interface Peer {
  id: string;
  kind: "agent" | "client";
  publicKey: Uint8Array;
}

/** `known`: the key was accepted before this handshake (not just now by --auto-accept); the listener does not count it against the address's handshake rate. */
export type Decision =
  | { accept: true; known?: boolean }
  | { accept: false; code: string; reason: string };

/** Server side: the peer authenticated but `decide` refused it (already told, connection closed). */
export class RefusedError extends SaltyError {
  constructor(message: string, code: string) {
    super(message, code);
    this.name = "RefusedError";
  }
}

/** Client side: the master authenticated itself (its key is `masterKey`), then refused this peer. */
export class MasterRefusedError extends SaltyError {
  constructor(
    message: string,
    code: string,
    readonly masterKey: Uint8Array,
  ) {
    super(message, code);
    this.name = "MasterRefusedError";
  }
}

interface Control<T> {
  /** The next frame goes to `step` (handshake messages: exactly one expected at a time). */
  expect(step: (frame: Uint8Array) => void): void;
  /** From now on frames go to the sealed link. */
  seal(sealed: SealedLink): void;
  done(value: T, maxFrame: number): void;
  fail(why: string, err?: Error): void;
}

/** Drive a handshake from the link's frames; the timeout, closes and throws all end in one place. */
function drive<T>(link: RawLink, timeoutMs: number, start: (ctl: Control<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let step: ((frame: Uint8Array) => void) | undefined;
    let sealed: SealedLink | undefined;
    let finished = false;
    const timer = setTimeout(
      () => ctl.fail(`handshake not finished within ${timeoutMs / 1000}s`),
      timeoutMs,
    );
    const ctl: Control<T> = {
      expect: (s) => (step = s),
      seal: (s) => (sealed = s),
      done(value, maxFrame) {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        link.setMaxFrame?.(maxFrame);
        resolve(value);
      },
      fail(why, err) {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        link.close(why);
        reject(err ?? new ProtocolError(why, "E_HANDSHAKE"));
      },
    };
    link.setMaxFrame?.(limits.maxHandshakeFrame);
    link.onClose((reason) => {
      sealed?.closed(reason);
      ctl.fail(
        `connection closed during the handshake (${reason})`,
        new SaltyError(
          `${link.peer}: connection closed during the handshake (${reason})`,
          "E_HANDSHAKE",
        ),
      );
    });
    link.onFrame((frame) => {
      if (sealed) return sealed.receive(frame);
      const s = step;
      step = undefined;
      if (!s) return ctl.fail("unexpected frame during the handshake");
      try {
        s(frame);
      } catch (err) {
        ctl.fail(`handshake failed: ${errorMessage(err)}`, err instanceof Error ? err : undefined);
      }
    });
    try {
      start(ctl);
    } catch (err) {
      ctl.fail(`handshake failed: ${errorMessage(err)}`, err instanceof Error ? err : undefined);
    }
  });
}

const CODE_RE = /^E_[A-Z0-9_]{1,40}$/;
const enc = new TextEncoder();

function writeDecision(d: Decision): Uint8Array {
  if (d.accept) return new Uint8Array([0, 0]);
  const code = enc.encode(CODE_RE.test(d.code) ? d.code : "E_REFUSED");
  const reason = enc.encode(d.reason.slice(0, 500));
  const out = new Uint8Array(2 + code.length + reason.length);
  out.set([1, code.length]);
  out.set(code, 2);
  out.set(reason, 2 + code.length);
  return out;
}

function readDecision(frame: Uint8Array): Decision {
  const [status, codeLength] = [frame[0], frame[1] ?? 0];
  if (status === 0 && frame.length === 2) return { accept: true };
  const code = new TextDecoder().decode(frame.subarray(2, 2 + codeLength));
  if (status !== 1 || !CODE_RE.test(code))
    throw new ProtocolError("handshake: the master's decision is malformed", "E_HANDSHAKE");
  return { accept: false, code, reason: new TextDecoder().decode(frame.subarray(2 + codeLength)) };
}

/** Server side: resolves with the sealed link once the peer is authenticated AND accepted by `decide`. */
export function secureServer(
  link: RawLink,
  opts: {
    identity: Identity;
    decide(peer: Peer): Decision | Promise<Decision>;
    timeoutMs?: number;
    /** The peer's hello was well-formed and answered (the listener's eviction order: secure-listener.ts). */
    onHello?(): void;
  },
): Promise<{ link: SealedLink; peer: Peer }> {
  return drive(link, opts.timeoutMs ?? timing.handshakeTimeoutMs, (ctl) => {
    ctl.expect((m1) => {
      const { m2, t } = hs.writeServerProof(m1, hs.readHello(m1), opts.identity);
      link.send(m2);
      opts.onHello?.();
      ctl.expect((m3) => {
        const { claim, final } = hs.readClientProof(t, m3);
        const keys = hs.sessionKeys(t, final);
        const sealed = new SealedLink(link, keys.serverToClient, keys.clientToServer);
        // No expect() while deciding: the client must wait for the decision, any frame now is an error.
        decideSafely(opts.decide, claim).then((d) => {
          sealed.send(writeDecision(d));
          if (d.accept) {
            ctl.seal(sealed);
            return ctl.done({ link: sealed, peer: claim }, limits.maxFrame);
          }
          ctl.fail(
            `refused: ${d.code}`,
            new RefusedError(`${claim.kind} ${claim.id} refused: ${d.reason}`, d.code),
          );
        });
      });
    });
  });
}

async function decideSafely(
  decide: (peer: Peer) => Decision | Promise<Decision>,
  peer: Peer,
): Promise<Decision> {
  try {
    return await decide(peer);
  } catch (err) {
    log("secure.decide_failed", { id: peer.id, error: errorMessage(err) });
    return {
      accept: false,
      code: "E_INTERNAL",
      reason: "the master could not check this key; see its log",
    };
  }
}

/** Client side. `masterKey`: the pinned key if known (`pinnedAt`: its file, for the error). Resolves with the key the master proved it holds. */
export function secureClient(
  link: RawLink,
  opts: {
    identity: Identity;
    id: string;
    kind: Peer["kind"];
    masterKey?: Uint8Array;
    pinnedAt?: string;
    timeoutMs?: number;
  },
): Promise<{ link: SealedLink; masterKey: Uint8Array }> {
  return drive(link, opts.timeoutMs ?? timing.handshakeTimeoutMs, (ctl) => {
    validateId(opts.id);
    const eph = hs.ephemeral();
    const m1 = hs.writeHello(eph.publicKey);
    ctl.expect((m2) => {
      const { masterKey, t } = hs.readServerProof(m1, m2, eph);
      if (opts.masterKey && !samePublicKey(opts.masterKey, masterKey)) {
        return ctl.fail(
          "master key changed",
          masterKeyChanged(opts.masterKey, masterKey, opts.pinnedAt),
        );
      }
      const { m3, final } = hs.writeClientProof(t, opts.identity, opts.id, opts.kind);
      const keys = hs.sessionKeys(t, final);
      const sealed = new SealedLink(link, keys.clientToServer, keys.serverToClient);
      sealed.takeFirst((frame) => {
        let d: Decision;
        try {
          d = readDecision(frame);
        } catch (err) {
          return ctl.fail(errorMessage(err), err as Error);
        }
        if (d.accept) return ctl.done({ link: sealed, masterKey }, limits.maxFrame);
        const who = `${opts.kind} ${opts.id} (key ${fingerprint(opts.identity.publicKey)})`;
        ctl.fail(
          `refused: ${d.code}`,
          new MasterRefusedError(
            `the master at ${link.peer} refused ${who}: ${d.reason}`,
            d.code,
            masterKey,
          ),
        );
      });
      ctl.seal(sealed);
      // The master is authenticated now: what follows its decision may be full-sized frames.
      link.setMaxFrame?.(limits.maxFrame);
      link.send(m3);
    });
    link.send(m1);
  });
}
