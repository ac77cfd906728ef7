// Pulling file content from the master for `fetch` changes. Small files are
// requested ahead, several at once (pipelined reads, at most
// limits.syncInFlightBytes in flight) and in batches of up to BATCH_BYTES per
// request when the source offers readMany, so a syncdir of many small files
// costs a few requests; a big file is read chunk by chunk, one chunk ahead, and
// written as it arrives, so memory stays flat whatever its size (the process's
// runtime is told what was received: it decides when to collect).

import { limits } from "../constants.ts";
import { SaltyError } from "../errors.ts";
import type { Runtime, WriteHandle } from "../sys/types.ts";
import type { FileSource } from "./file-source.ts";
import type { Change } from "./types.ts";

export type FetchChange = Extract<Change, { kind: "fetch" }>;

const EMPTY = new Uint8Array();
export function isSmall(c: FetchChange): boolean {
  return c.size <= limits.chunkBytes;
}

/** Bytes of small files asked for in one readMany request. */
const BATCH_BYTES = 1024 * 1024;

/** Reads small files ahead of the writer, in plan order. */
export class Prefetcher {
  private readonly queue: FetchChange[];
  private started = 0;
  private inFlight = 0;
  private readonly pending = new Map<FetchChange, Promise<Uint8Array>>();

  constructor(
    private readonly files: FileSource,
    changes: Change[],
  ) {
    this.queue = changes.filter((c): c is FetchChange => c.kind === "fetch" && isSmall(c));
  }

  private start(c: FetchChange): Promise<Uint8Array> {
    const p = c.size === 0 ? Promise.resolve(EMPTY) : this.files.read(c.src, 0, c.size);
    p.catch(() => {}); // awaited later by get(); a failure there is reported once
    return p;
  }

  private topUp(): void {
    while (this.started < this.queue.length) {
      const batch: FetchChange[] = [];
      let bytes = 0;
      while (this.started < this.queue.length) {
        const c = this.queue[this.started]!;
        if (this.inFlight > 0 && this.inFlight + c.size > limits.syncInFlightBytes) break;
        if (batch.length && (bytes + c.size > BATCH_BYTES || batch.length >= limits.maxReadBatch))
          break;
        batch.push(c);
        bytes += c.size;
        this.inFlight += c.size;
        this.started++;
      }
      if (batch.length === 0) return;
      this.startBatch(batch);
    }
  }

  /** One readMany for the non-empty files of `batch` (a read when there is one). */
  private startBatch(batch: FetchChange[]): void {
    const wanted = batch.filter((c) => c.size > 0);
    if (wanted.length < 2) {
      for (const c of batch) this.pending.set(c, this.start(c));
      return;
    }
    const all = this.files.readMany(
      wanted.map((c) => ({ path: c.src, offset: 0, length: c.size })),
    );
    all.catch(() => {});
    const index = new Map(wanted.map((c, i) => [c, i]));
    for (const c of batch) {
      const i = index.get(c);
      const p =
        i === undefined
          ? Promise.resolve(EMPTY)
          : all.then(
              (list) =>
                list[i] ??
                Promise.reject(
                  new SaltyError(`no content for ${c.src} in the batch`, "E_PROTOCOL"),
                ),
            );
      p.catch(() => {});
      this.pending.set(c, p);
    }
  }

  /** The whole content of a small file. */
  async get(c: FetchChange): Promise<Uint8Array> {
    this.topUp();
    const p = this.pending.get(c);
    if (!p) return this.start(c);
    this.pending.delete(c);
    try {
      return await p;
    } finally {
      this.inFlight -= c.size;
    }
  }
}

/** Stream a big file into `h`, reading one chunk ahead; returns its SHA-256 when the change names one to check. */
export async function streamInto(
  ctx: { files: FileSource; runtime: Runtime },
  c: FetchChange,
  h: WriteHandle,
): Promise<string | undefined> {
  const hasher = c.hash ? new Bun.CryptoHasher("sha256") : undefined;
  const read = (off: number) => {
    const p = ctx.files.read(c.src, off, Math.min(limits.chunkBytes, c.size - off));
    p.catch(() => {});
    return p;
  };
  let next = c.size > 0 ? read(0) : undefined;
  for (let off = 0; off < c.size; ) {
    const data = await next!;
    if (data.length === 0)
      throw new SaltyError(`${c.src} shrank on the master during the transfer`, "E_CHANGED");
    off += data.length;
    next = off < c.size ? read(off) : undefined;
    hasher?.update(data);
    await h.write(data);
    ctx.runtime.received(data.length);
  }
  return hasher?.digest("hex");
}
