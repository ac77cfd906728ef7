// The live sessions' key re-check (lib/master/key-watch.ts): a check of every
// session is made in slices, with the event loop's turn between them, and
// still cuts a session whose key is no longer accepted, wherever it is in the list.

import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { watchKeys, type KeyWatch } from "../../lib/master/key-watch.ts";
import type { KeyStore } from "../../lib/master/keystore.ts";
import type { Peer } from "../../lib/wire/secure.ts";
import { setLogSink } from "../../lib/log.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});
const keyroot = tempDirs("salty-key-watch-");

let watch: KeyWatch | undefined;
afterEach(() => watch?.close());

describe("watchKeys", () => {
  test("a check of 1,000 sessions lets the event loop turn, and cuts the last one's rejected key", async () => {
    const root = keyroot();
    const rejected = new Set<string>();
    // The event loop's turns, counted by a chain of setImmediate; each check notes the count it ran at.
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const seenAt: number[] = [];
    const keystore = {
      stillAccepted: async (p: Peer) => {
        seenAt.push(turns);
        return !rejected.has(p.id);
      },
    } as unknown as KeyStore;
    watch = await watchKeys(root, keystore);
    const closed: string[] = [];
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const id = `a${i}`;
      watch.add(
        { id, kind: "agent", publicKey: new Uint8Array(32) },
        { close: () => closed.push(id), onClose: () => {} },
      );
    }
    // The additions' own checks (one key each), then nothing left to check.
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await Bun.sleep(25);
    };
    await until(() => seenAt.length >= n);
    expect(seenAt.length).toBe(n);
    seenAt.length = 0;

    rejected.add(`a${n - 1}`);
    // A file in accepted/ that is no key: every session is checked.
    writeFileSync(join(root, "agents/accepted/stray"), "");
    await until(() => closed.length > 0 && seenAt.length >= n);
    ticking = false;
    expect(closed).toEqual([`a${n - 1}`]);
    expect(seenAt.length).toBe(n);
    // Not all in one turn: the loop ran between the first session's check and the last's.
    expect(seenAt[n - 1]! - seenAt[0]!).toBeGreaterThanOrEqual(3);
  });
});
