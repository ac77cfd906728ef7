// Content hashes: one function for the master and the agent, so their hashes
// compare. SHA-256 from Bun's native hasher (hardware-accelerated).

export function hashBytes(data: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(data).digest("hex");
}

/** Streaming hash of a file, in constant memory. */
export async function hashFile(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}
