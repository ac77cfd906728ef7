// The agent's journal of owed handlers (operators/handlers.ts): a small JSON
// file in its keyroot, written atomically (temporary file, fsync, rename,
// fsync of the directory) when a handler is queued and removed when none is
// owed, so a kill -9 between a change and its handler loses nothing.

import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { log } from "../log.ts";
import type { Journal, Owed } from "../operators/handlers.ts";

export const JOURNAL_NAME = "handlers.json";

function valid(o: unknown): o is Owed {
  const x = o as Owed;
  return (
    typeof x === "object" &&
    x !== null &&
    typeof x.service === "string" &&
    (x.action === "reload" || x.action === "restart") &&
    (x.init === "systemd" || x.init === "launchd")
  );
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fileJournal(keyroot: string): Journal {
  const path = join(keyroot, JOURNAL_NAME);
  return {
    async load() {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        return [];
      }
      try {
        const list = JSON.parse(text) as unknown;
        if (Array.isArray(list) && list.every(valid)) return list;
      } catch {
        /* reported below */
      }
      log("agent.handler_journal_unreadable", { path });
      return [];
    },
    async save(owed) {
      if (owed.length === 0) {
        rmSync(path, { force: true });
        syncDir(dirname(path));
        return;
      }
      const tmp = `${path}.${process.pid}.tmp`;
      const fd = openSync(tmp, "w", 0o600);
      try {
        writeSync(fd, JSON.stringify(owed));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      syncDir(dirname(path));
    },
  };
}
