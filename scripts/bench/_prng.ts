// Deterministic workload content for the benchmark: a seeded PRNG (sfc32) and
// file bodies cut from one pseudo-random block, so the same seed always gives
// the same trees, byte for byte. Bench-only: never imported by cmd/ or lib/.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = seed >>> 0;
    this.b = 0x9e3779b9;
    this.c = 0x243f6a88;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.next() % items.length]!;
  }
}

const WORDS =
  "server listen worker timeout upstream proxy cache buffer client header gzip level root index access error log format keepalive limit zone ssl cert key session ticket".split(
    " ",
  );

/** Pseudo-random bytes from the generator (a block files are cut from). */
export function randomBlock(rng: Prng, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= size; i += 4) view.setUint32(i, rng.next());
  return out;
}

/** Text of about `size` bytes: configuration-like lines of words. */
export function textOf(rng: Prng, size: number, label: string): Uint8Array {
  const lines = [`# ${label}`];
  let n = lines[0]!.length + 1;
  while (n < size) {
    const line = `${rng.pick(WORDS)} ${rng.pick(WORDS)}_${rng.int(0, 9999)} ${rng.int(1, 65535)};`;
    lines.push(line);
    n += line.length + 1;
  }
  return new TextEncoder().encode(`${lines.join("\n")}\n`).subarray(0, Math.max(size, 1));
}

/** A body of `size` bytes: a header line naming the file, then slices of `block` from seeded offsets. */
export function cut(rng: Prng, block: Uint8Array, size: number, label: string): Uint8Array {
  const out = new Uint8Array(size);
  const head = new TextEncoder().encode(`# ${label}\n`);
  out.set(head.subarray(0, size));
  let at = head.length;
  while (at < size) {
    const off = rng.int(0, block.length - 1);
    const piece = block.subarray(off, off + Math.min(size - at, block.length - off));
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
