// Extraction of an untrusted tar bundle (ustar, pax and GNU long names) into a
// fresh directory, by our own reader rather than a tar program: every entry is
// judged before anything of it is written. Refused, with the entry named:
// absolute paths, `..`, NUL, a write through a symlink, a symlink whose target
// leaves the bundle, a hard link to anything but an earlier regular file of
// the bundle, device files, FIFOs and every other type, duplicates, a bad
// header checksum, more than `maxEntries` entries or `maxBytes` of content.
// Files get 0644 or 0755 (no set-id bits), directories 0755. Memory stays
// flat: content is copied in 1 MiB pieces. The caller removes `dest` on error.

import { link, mkdir, open, realpath, symlink, type FileHandle } from "node:fs/promises";
import { dirname, join, posix, sep } from "node:path";
import { SaltyError } from "../errors.ts";

export interface ExtractLimits {
  maxEntries: number;
  maxBytes: number;
}

export interface Extracted {
  entries: number;
  bytes: number;
}

const BLOCK = 512;
const PIECE = 1 << 20;

const bad = (why: string) => new SaltyError(`bundle refused: ${why}`, "E_BUNDLE");

function cstr(b: Uint8Array, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const end = s.indexOf(0);
  return new TextDecoder().decode(end === -1 ? s : s.subarray(0, end));
}

function octal(b: Uint8Array, start: number, len: number, what: string): number {
  // GNU base-256 for big numbers: the high bit of the first byte set.
  if (b[start]! & 0x80) {
    let n = b[start]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + b[start + i]!;
    if (!Number.isSafeInteger(n)) throw bad(`${what} out of range`);
    return n;
  }
  const text = cstr(b, start, len).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw bad(`bad ${what} field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === octal(h, 148, 8, "checksum");
}

/** pax records "LEN key=value\n". */
function paxRecords(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const text = new TextDecoder().decode(data);
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    const len = Number(text.slice(i, sp));
    if (sp === -1 || !Number.isSafeInteger(len) || len <= 0) throw bad("malformed pax header");
    const rec = text.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** The entry's path inside the bundle, normalized; refuses what could leave it. */
export function entryPath(raw: string): string {
  if (raw.includes("\0")) throw bad(`a path with a NUL byte`);
  if (raw.startsWith("/")) throw bad(`absolute path ${JSON.stringify(raw)}`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw bad(`path with .. ${JSON.stringify(raw)}`);
  if (parts.length === 0) return "";
  if (raw.length > 4096) throw bad(`path longer than 4096`);
  return parts.join("/");
}

class Reader {
  private pos = 0;
  constructor(
    private fh: FileHandle,
    private size: number,
  ) {}
  async block(n: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    const { bytesRead } = await this.fh.read(buf, 0, n, this.pos);
    if (bytesRead !== n) throw bad("truncated tar");
    this.pos += n;
    return buf;
  }
  get done(): boolean {
    return this.pos + BLOCK > this.size;
  }
  /** Copy `size` bytes of content to `out` (or skip them), then the padding. */
  async content(size: number, out?: FileHandle): Promise<void> {
    if (this.pos + size > this.size) throw bad("truncated tar");
    for (let left = size; left > 0; ) {
      const n = Math.min(PIECE, left);
      if (out) {
        const buf = new Uint8Array(n);
        await this.fh.read(buf, 0, n, this.pos);
        await out.write(buf);
      }
      this.pos += n;
      left -= n;
    }
    this.pos += (BLOCK - (size % BLOCK)) % BLOCK;
  }
}

/** Extract `tarPath` into `dest` (created, must not exist). */
export async function extractBundle(
  tarPath: string,
  dest: string,
  limits: ExtractLimits,
): Promise<Extracted> {
  await mkdir(dest, { mode: 0o755 });
  const fh = await open(tarPath, "r");
  try {
    const r = new Reader(fh, (await fh.stat()).size);
    const seen = new Map<string, "file" | "dir" | "symlink">();
    let entries = 0,
      bytes = 0;
    let longName: string | undefined, longLink: string | undefined;
    let pax = new Map<string, string>();
    while (!r.done) {
      const h = await r.block(BLOCK);
      if (h.every((b) => b === 0)) break;
      if (!checksumOk(h)) throw bad("bad header checksum (not a tar file?)");
      const type = String.fromCharCode(h[156]!);
      let size = octal(h, 124, 12, "size");
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        if (size > 1 << 20) throw bad("extended header larger than 1 MiB");
        const data = await r.block(Math.ceil(size / BLOCK) * BLOCK);
        if (type === "x") pax = paxRecords(data.subarray(0, size));
        if (type === "L") longName = cstr(data, 0, size);
        if (type === "K") longLink = cstr(data, 0, size);
        continue;
      }
      const prefix = cstr(h, 345, 155);
      const name =
        pax.get("path") ?? longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
      const linkName = pax.get("linkpath") ?? longLink ?? cstr(h, 157, 100);
      if (pax.has("size")) size = Number(pax.get("size"));
      pax = new Map();
      longName = longLink = undefined;
      if (++entries > limits.maxEntries)
        throw bad(`more than ${limits.maxEntries} entries (--deploy-max-entries)`);
      const path = entryPath(name);
      if (path === "") {
        await r.content(size);
        continue;
      }
      if (seen.has(path) && !(type === "5" && seen.get(path) === "dir"))
        throw bad(`duplicate entry ${path}`);
      // Never write through a symlink of the bundle.
      const parts = path.split("/");
      for (let i = 1; i < parts.length; i++)
        if (seen.get(parts.slice(0, i).join("/")) === "symlink")
          throw bad(`${path} lies under the symlink ${parts.slice(0, i).join("/")}`);
      const full = join(dest, path);
      await mkdir(dirname(full), { recursive: true, mode: 0o755 });
      if (type === "0" || type === "\0" || type === "7") {
        bytes += size;
        if (bytes > limits.maxBytes)
          throw bad(`more than ${limits.maxBytes} bytes of content (--deploy-max-mb)`);
        const mode = octal(h, 100, 8, "mode") & 0o111 ? 0o755 : 0o644;
        const out = await open(full, "wx", mode);
        try {
          await r.content(size, out);
        } finally {
          await out.close();
        }
        seen.set(path, "file");
      } else if (type === "5") {
        await mkdir(full, { recursive: true, mode: 0o755 });
        seen.set(path, "dir");
        await r.content(size);
      } else if (type === "2") {
        if (linkName === "" || linkName.startsWith("/"))
          throw bad(`symlink ${path} -> ${linkName}: only relative targets inside the bundle`);
        const target = posix.normalize(posix.join(posix.dirname(path), linkName));
        if (target === ".." || target.startsWith("../"))
          throw bad(`symlink ${path} -> ${linkName} points outside the bundle`);
        await symlink(linkName, full);
        seen.set(path, "symlink");
        await r.content(size);
      } else if (type === "1") {
        const target = entryPath(linkName);
        if (seen.get(target) !== "file")
          throw bad(
            `hard link ${path} -> ${linkName}: only to an earlier regular file of the bundle`,
          );
        await link(join(dest, target), full);
        seen.set(path, "file");
        await r.content(size);
      } else {
        throw bad(
          `${path}: entry type ${JSON.stringify(type)} (device, FIFO or other special file) is not allowed`,
        );
      }
    }
    await linksStayInside(
      dest,
      [...seen].filter(([, kind]) => kind === "symlink").map(([p]) => p),
    );
    return { entries, bytes };
  } finally {
    await fh.close();
  }
}

/** Each symlink, resolved through the others, lands inside the bundle on something that exists. */
async function linksStayInside(dest: string, links: string[]): Promise<void> {
  const root = await realpath(dest);
  for (const path of links) {
    const real = await realpath(join(dest, path)).catch(() => undefined);
    if (real === undefined) throw bad(`symlink ${path} points to nothing in the bundle`);
    if (real !== root && !real.startsWith(root + sep))
      throw bad(`symlink ${path} points outside the bundle`);
  }
}
