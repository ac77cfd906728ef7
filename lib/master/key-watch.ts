// The live sessions of keyed peers (agents and remote clients), cut the moment
// their key stops being accepted: `salty keys reject` or `delete`, or a key
// file moved by hand. The master watches the accepted-key directories (inotify,
// kqueue) rather than being told by the keys command, so that every way a key
// leaves "accepted" counts, and a keys command run while the master is down or
// against a copy of the keyroot needs nothing more; a re-check every
// timing.keysRecheckMs covers file systems without change events.

import { watch, type FSWatcher } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { timing } from "../constants.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { fingerprint } from "../crypto/keys.ts";
import type { Peer } from "../wire/secure.ts";
import type { KeyStore } from "./keystore.ts";

/** Sessions checked between two turns of the event loop. */
const CHECK_SLICE = 256;

interface Live {
  peer: Peer;
  close(reason: string): void;
}

export interface KeyWatch {
  /** A session of `peer` that must end when its key does; `close` ends it. */
  add(peer: Peer, session: { close(reason: string): void; onClose(h: () => void): void }): void;
  close(): void;
}

export async function watchKeys(keyroot: string, keystore: KeyStore): Promise<KeyWatch> {
  /** By "kind/id": a change of one key looks at that key's sessions only, not at all 10,000. */
  const live = new Map<string, Set<Live>>();
  const keyOf = (peer: Peer) => `${peer.kind}/${peer.id}`;
  let queued: ReturnType<typeof setTimeout> | undefined;
  let checking = Promise.resolve();
  /** "kind/id" of the key files that changed since the last check; "*" for every session. */
  const changed = new Set<string>();

  const check = async (which: Set<string>) => {
    const keys = which.has("*") ? [...live.keys()] : [...which];
    let n = 0;
    for (const s of keys.flatMap((k) => [...(live.get(k) ?? [])])) {
      // The periodic check of 10,000 sessions is ~20,000 stats (70-100 ms): in slices, with the
      // event loop's turn between them, so that an apply or a handshake never waits for all of it.
      if (++n % CHECK_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const ok = await keystore.stillAccepted(s.peer).catch((err) => {
        log("keys.recheck_failed", { id: s.peer.id, kind: s.peer.kind, error: errorMessage(err) });
        return false; // as decide() does: a key the master cannot read is not accepted
      });
      if (ok || !live.get(keyOf(s.peer))?.has(s)) continue;
      forget(s);
      log("keys.session_cut", {
        id: s.peer.id,
        kind: s.peer.kind,
        fingerprint: fingerprint(s.peer.publicKey),
        reason: "key no longer accepted",
      });
      s.close(`the key of ${s.peer.kind} ${s.peer.id} is no longer accepted`);
    }
  };
  const forget = (s: Live) => {
    const k = keyOf(s.peer);
    const same = live.get(k);
    same?.delete(s);
    if (same?.size === 0) live.delete(k);
  };
  // The events of one `salty keys` command make one check; checks never overlap.
  const soon = (what: string) => {
    changed.add(what);
    queued ??= setTimeout(() => {
      queued = undefined;
      const which = new Set(changed);
      changed.clear();
      checking = checking.then(() => check(which));
    }, 20);
  };

  const watchers: FSWatcher[] = [];
  for (const kind of ["agent", "client"] as const) {
    const dir = join(keyroot, `${kind}s`, "accepted");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const onEvent = (_event: string, file: string | Buffer | null) => {
      const name = file?.toString() ?? "";
      soon(name.endsWith(".pub") ? `${kind}/${name.slice(0, -4)}` : "*");
    };
    try {
      watchers.push(
        watch(dir, onEvent).on("error", (err) =>
          log("keys.watch_failed", { dir, error: err.message }),
        ),
      );
    } catch (err) {
      log("keys.watch_failed", { dir, error: errorMessage(err) });
    }
  }
  const timer = setInterval(() => soon("*"), timing.keysRecheckMs);
  timer.unref?.();

  return {
    add(peer, session) {
      const s: Live = { peer, close: (r) => session.close(r) };
      const k = keyOf(peer);
      let same = live.get(k);
      if (!same) live.set(k, (same = new Set()));
      same.add(s);
      session.onClose(() => forget(s));
      // A key rejected while this peer's handshake was being decided changed before it was listed here.
      soon(k);
    },
    close() {
      clearInterval(timer);
      if (queued) clearTimeout(queued);
      for (const w of watchers) w.close();
      live.clear();
    },
  };
}
