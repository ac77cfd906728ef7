// The .enc file format of the original salty: for each 1 MiB block of
// plaintext, nonce24 || secretbox(block), concatenated. An empty file
// encrypts to nothing. Streams hold one block at a time, so memory stays
// flat for files of any size. Pure: no I/O of its own, never logs.
//
// The format has no block index and no end marker: a file cut exactly at a
// block boundary, or with whole blocks reordered, still decrypts. That is
// the original's format; we keep it for compatibility.

import {
  OVERHEAD,
  PLAIN_BLOCK,
  SEALED_BLOCK,
  openBlock,
  seal,
  type SecretKey,
} from "./_secretbox.ts";

export type Chunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Re-cut a stream into blocks of exactly `size` bytes (the last one shorter,
 * never empty). A yielded block is only valid until the next is requested:
 * the buffer is reused, so callers must consume it at once.
 */
async function* fixedBlocks(source: Chunks, size: number): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(size);
  let fill = 0;
  for await (const chunk of source) {
    let off = 0;
    while (off < chunk.length) {
      if (fill === 0 && chunk.length - off >= size) {
        yield chunk.subarray(off, off + size);
        off += size;
        continue;
      }
      const n = Math.min(size - fill, chunk.length - off);
      buf.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/**
 * A warning for a `.enc` of `length` bytes whose plaintext is a whole number
 * of 1 MiB blocks (none included): the format has no end marker, so such a file
 * may have lost whole blocks at its end and still decrypt. Undefined otherwise.
 */
export function wholeBlocksWarning(length: number): string | undefined {
  if (length % SEALED_BLOCK !== 0) return undefined;
  const n = length / SEALED_BLOCK;
  return `${n === 0 ? "it is empty" : `its plaintext is exactly ${n} MiB (${n} whole block${n === 1 ? "" : "s"})`}: the .enc format cannot tell whether blocks were cut off at the end; compare with the original's size`;
}

/** Encrypt a stream of plaintext into the .enc format, block by block. */
export async function* encryptStream(source: Chunks, key: SecretKey): AsyncGenerator<Uint8Array> {
  for await (const block of fixedBlocks(source, PLAIN_BLOCK)) yield seal(block, key);
}

/** Decrypt a stream in the .enc format; throws SaltyError naming the bad block. */
export async function* decryptStream(source: Chunks, key: SecretKey): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const block of fixedBlocks(source, SEALED_BLOCK)) yield openBlock(block, key, ++n);
}

/** The .enc bytes of a whole buffer (small files, fixtures). */
export function encryptBytes(plain: Uint8Array, key: SecretKey): Uint8Array {
  const blocks = Math.ceil(plain.length / PLAIN_BLOCK);
  const out = new Uint8Array(plain.length + blocks * OVERHEAD);
  for (let i = 0; i < blocks; i++) {
    out.set(seal(plain.subarray(i * PLAIN_BLOCK, (i + 1) * PLAIN_BLOCK), key), i * SEALED_BLOCK);
  }
  return out;
}

/** The plaintext of a whole .enc buffer (the master decrypts files/ROLE/NAME.enc with it). */
export function decryptBytes(sealed: Uint8Array, key: SecretKey): Uint8Array {
  const blocks = Math.ceil(sealed.length / SEALED_BLOCK);
  const last = sealed.subarray((blocks - 1) * SEALED_BLOCK);
  // A last block too short to hold a nonce fails here, before sizing `out` with it.
  if (blocks > 0 && last.length < OVERHEAD) openBlock(last, key, blocks);
  const out = new Uint8Array(sealed.length - blocks * OVERHEAD);
  for (let i = 0; i < blocks; i++) {
    const plain = openBlock(sealed.subarray(i * SEALED_BLOCK, (i + 1) * SEALED_BLOCK), key, i + 1);
    out.set(plain, i * PLAIN_BLOCK);
  }
  return out;
}
