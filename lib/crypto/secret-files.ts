// Encrypt or decrypt a file on disk into another (`salty crypto e|d`):
// streamed block by block in flat memory, written atomically with mode 0600
// (temp file in the destination's directory, fsync, rename), so a failure
// never leaves a partial, empty or changed destination. Never logs.

import { lstat, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { PLAIN_BLOCK, SEALED_BLOCK, type SecretKey } from "./_secretbox.ts";
import { decryptStream, encryptStream, type Chunks } from "./secret-stream.ts";

export interface WriteOptions {
  /** Replace an existing destination (else it is an error and stays untouched). */
  force?: boolean;
}

const MODE = 0o600;

/** Write the .enc form of `src` to `dst`. */
export async function encryptFile(
  src: string,
  dst: string,
  key: SecretKey,
  opts: WriteOptions = {},
): Promise<void> {
  await transform(src, dst, PLAIN_BLOCK, (input) => encryptStream(input, key), opts);
}

/** Write the plaintext of the .enc file `src` to `dst`; errors name `src` and the bad block. */
export async function decryptFile(
  src: string,
  dst: string,
  key: SecretKey,
  opts: WriteOptions = {},
): Promise<void> {
  await transform(src, dst, SEALED_BLOCK, (input) => decryptStream(input, key), opts);
}

/** Fail now as encryptFile/decryptFile would before reading: no input file, or an output already there. */
export async function checkPaths(src: string, dst: string, opts: WriteOptions = {}): Promise<void> {
  const st = await stat(src).catch((err) => Promise.reject(fsError(err, src)));
  if (!st.isFile()) throw new SaltyError(`${src} is not a regular file`, "E_NOT_FILE");
  if (!opts.force) await refuseExisting(dst);
}

async function transform(
  src: string,
  dst: string,
  block: number,
  fn: (input: Chunks) => AsyncIterable<Uint8Array>,
  opts: WriteOptions,
): Promise<void> {
  await checkPaths(src, dst, opts);
  try {
    await writeAtomic(dst, fn(readBlocks(src, block)), opts);
  } catch (err) {
    // Block errors from decryption say which block; say which file too.
    if (err instanceof SaltyError && (err.code === "E_DECRYPT" || err.code === "E_TRUNCATED"))
      throw new SaltyError(`${src}: ${err.message}`, err.code);
    throw err;
  }
}

/**
 * The file in chunks of `size` bytes read into one reused buffer: each chunk
 * is consumed (sealed or opened into a new array) before the next read, and
 * whole blocks spare the stream a copy when it re-cuts them.
 */
async function* readBlocks(path: string, size: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, "r").catch((err) => Promise.reject(fsError(err, path)));
  try {
    const buf = new Uint8Array(size);
    for (;;) {
      let fill = 0;
      while (fill < size) {
        const { bytesRead } = await fh
          .read(buf, fill, size - fill, null)
          .catch((err) => Promise.reject(fsError(err, path)));
        if (bytesRead === 0) break;
        fill += bytesRead;
      }
      if (fill > 0) yield buf.subarray(0, fill);
      if (fill < size) return;
    }
  } finally {
    await fh.close();
  }
}

async function refuseExisting(dst: string): Promise<void> {
  const there = await lstat(dst).then(
    () => true,
    () => false,
  );
  if (there) throw new SaltyError(`${dst} already exists (use --force to overwrite)`, "E_EXISTS");
}

async function writeAtomic(
  dst: string,
  chunks: AsyncIterable<Uint8Array>,
  opts: WriteOptions,
): Promise<void> {
  const tmp = join(dirname(dst), `.${basename(dst)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", MODE).catch((err) => Promise.reject(fsError(err, dst)));
  let closed = false;
  try {
    await fh.chmod(MODE); // exact, whatever the umask
    for await (const chunk of chunks) await writeAll(fh, chunk, dst);
    await fh.sync();
    await fh.close();
    closed = true;
    if (!opts.force) await refuseExisting(dst); // it may have appeared meanwhile
    await rename(tmp, dst).catch((err) => Promise.reject(fsError(err, dst)));
  } catch (err) {
    if (!closed) await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array, dst: string): Promise<void> {
  for (let off = 0; off < chunk.length; ) {
    const { bytesWritten } = await fh
      .write(chunk, off)
      .catch((err) => Promise.reject(fsError(err, dst)));
    off += bytesWritten;
  }
}

/** One clear line for a file system error about `path`. */
function fsError(err: unknown, path: string): SaltyError {
  if (err instanceof SaltyError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EISDIR"
          ? "is a directory"
          : code === "ENOSPC"
            ? "no space left on the device"
            : errorMessage(err);
  return new SaltyError(`${path}: ${why}`, code ?? "E_IO");
}
