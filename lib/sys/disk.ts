// The real Disk port: the few writes operators make. Synchronous syscalls
// inside (fast, and a write is one step of a plan anyway), except fsync, which
// runs on the thread pool so that a batch's fsyncs overlap. Files are created
// exclusively with their final mode and owner before any byte is written.
// It decides nothing: the operators plan, this only carries out.

import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  fsync,
  lchownSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from "node:fs";
import type { Disk, WriteHandle } from "./types.ts";
import { startWriteback } from "./writeback.ts";

function handle(fd: number): WriteHandle {
  let open = true;
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    },
    startWriteback: () => startWriteback(fd),
    // On the thread pool, not the JS thread: the fsyncs of a batch run side by side and share journal commits.
    sync: () =>
      new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve()))),
    async close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Seconds as a double: utimes cannot carry nanoseconds exactly (~240 ns of error today; compare with a tolerance). */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1_000_000_000n) + Number(ns % 1_000_000_000n) / 1e9;
}

export const realDisk: Disk = {
  async create(path, mode, owner) {
    const fd = openSync(path, "wx", 0o600);
    try {
      fchownSync(fd, owner.uid, owner.gid);
      fchmodSync(fd, mode);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return handle(fd);
  },
  rename: async (from, to) => renameSync(from, to),
  remove: async (path) => rmSync(path, { recursive: true, force: true }),
  async mkdir(path, mode) {
    mkdirSync(path, { mode });
    chmodSync(path, mode);
  },
  chmod: async (path, mode) => chmodSync(path, mode),
  lchown: async (path, owner) => lchownSync(path, owner.uid, owner.gid),
  symlink: async (target, path) => symlinkSync(target, path),
  async utimes(path, mtimeNs) {
    const t = nsToSeconds(mtimeNs);
    utimesSync(path, t, t);
  },
};

/** `disk`, calling `changing(path)` before each change it makes, for each path it changes (the agent's watched trees forget them). */
export function notifyingDisk(disk: Disk, changing: (path: string) => void): Disk {
  return {
    create: (path, mode, owner) => (changing(path), disk.create(path, mode, owner)),
    rename: (from, to) => (changing(from), changing(to), disk.rename(from, to)),
    remove: (path) => (changing(path), disk.remove(path)),
    mkdir: (path, mode) => (changing(path), disk.mkdir(path, mode)),
    chmod: (path, mode) => (changing(path), disk.chmod(path, mode)),
    lchown: (path, owner) => (changing(path), disk.lchown(path, owner)),
    symlink: (target, path) => (changing(path), disk.symlink(target, path)),
    utimes: (path, mtimeNs) => (changing(path), disk.utimes(path, mtimeNs)),
  };
}
