// A tar writer for `salty deploy`: ustar headers (pax for long names and big
// sizes), each file's content streamed from disk in pieces, so a 1 GB
// artifact costs no memory. Regular files, directories and symlinks only.

import { lstat, open, readdir, readlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { SaltyError } from "../errors.ts";

const BLOCK = 512;
const PIECE = 1 << 20;
const enc = new TextEncoder();

function put(h: Uint8Array, text: string, at: number, len: number): void {
  h.set(enc.encode(text).subarray(0, len), at);
}

function num(h: Uint8Array, n: number, at: number, len: number): void {
  put(h, n.toString(8).padStart(len - 1, "0"), at, len - 1);
}

function header(
  name: string,
  opts: { type: string; size?: number; mode: number; link?: string; mtime: number },
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  put(h, name, 0, 100);
  num(h, opts.mode, 100, 8);
  num(h, 0, 108, 8);
  num(h, 0, 116, 8);
  num(h, opts.size ?? 0, 124, 12);
  num(h, Math.floor(opts.mtime), 136, 12);
  h.fill(32, 148, 156);
  h[156] = opts.type.charCodeAt(0);
  put(h, opts.link ?? "", 157, 100);
  put(h, "ustar\u000000", 257, 8);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, sum.toString(8).padStart(6, "0") + "\u0000 ", 148, 8);
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const base = Buffer.byteLength(body);
  let len = base + 1;
  while (len !== base + String(len).length) len = base + String(len).length;
  return `${len}${body}`;
}

export class TarWriter {
  private constructor(private out: FileHandle) {}

  static async create(path: string): Promise<TarWriter> {
    return new TarWriter(await open(path, "wx", 0o600));
  }

  private async entry(
    name: string,
    opts: { type: string; size?: number; mode: number; link?: string },
  ): Promise<void> {
    const mtime = Date.now() / 1000;
    const records = [
      ...(Buffer.byteLength(name) > 99 ? [paxRecord("path", name)] : []),
      ...(opts.link && Buffer.byteLength(opts.link) > 99 ? [paxRecord("linkpath", opts.link)] : []),
      ...((opts.size ?? 0) > 0o77777777777 ? [paxRecord("size", String(opts.size))] : []),
    ].join("");
    if (records) {
      const data = enc.encode(records);
      await this.out.write(
        header("PaxHeader", { type: "x", size: data.length, mode: 0o644, mtime }),
      );
      await this.out.write(data);
      await this.pad(data.length);
    }
    await this.out.write(
      header(name.slice(0, 99), { ...opts, size: Math.min(opts.size ?? 0, 0o77777777777), mtime }),
    );
  }

  private async pad(size: number): Promise<void> {
    const n = (BLOCK - (size % BLOCK)) % BLOCK;
    if (n) await this.out.write(new Uint8Array(n));
  }

  async bytes(name: string, data: Uint8Array): Promise<void> {
    await this.entry(name, { type: "0", size: data.length, mode: 0o644 });
    await this.out.write(data);
    await this.pad(data.length);
  }

  /** A file from disk, streamed. */
  async file(name: string, path: string): Promise<void> {
    const st = await lstat(path);
    const src = await open(path, "r");
    try {
      await this.entry(name, { type: "0", size: st.size, mode: st.mode & 0o111 ? 0o755 : 0o644 });
      const buf = new Uint8Array(PIECE);
      let done = 0;
      while (done < st.size) {
        const { bytesRead } = await src.read(buf, 0, Math.min(PIECE, st.size - done), done);
        if (bytesRead === 0)
          throw new SaltyError(`${path} shrank while it was bundled`, "E_BUNDLE");
        await this.out.write(buf.subarray(0, bytesRead));
        done += bytesRead;
      }
      await this.pad(st.size);
    } finally {
      await src.close();
    }
  }

  /** A file, symlink or directory tree from disk under `name`; `skip(rel)` leaves entries out. */
  async tree(
    name: string,
    path: string,
    skip: (name: string) => boolean = () => false,
  ): Promise<void> {
    const st = await lstat(path);
    if (skip(name)) return;
    if (st.isSymbolicLink())
      return this.entry(name, { type: "2", mode: 0o777, link: await readlink(path) });
    if (st.isFile()) return this.file(name, path);
    if (!st.isDirectory())
      throw new SaltyError(
        `${path}: only files, directories and symlinks can be bundled`,
        "E_BUNDLE",
      );
    if (name !== "") await this.entry(`${name}/`, { type: "5", mode: 0o755 });
    for (const child of (await readdir(path)).sort())
      await this.tree(name === "" ? child : `${name}/${child}`, join(path, child), skip);
  }

  async close(): Promise<void> {
    await this.out.write(new Uint8Array(BLOCK * 2));
    await this.out.close();
  }
}
