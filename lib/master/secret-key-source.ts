// The master's secret key, read when it is needed rather than once at start:
// a crypto.pass written (or fixed) while the master runs is used by the next
// apply, without a restart. One stat of crypto.pass per use; the file is read
// and the key derived again only when that stat changes. $SALTY_PASSWORD and
// $PASSWORD (secret-key.ts says in which order) are fixed for the process.
// Also the warning at start when the fileroot holds secrets and no password.

import { readFileSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { deriveKey, PASSWORD_FILE, type SecretKey } from "../crypto/secrets.ts";

export class SecretKeySource {
  private seen: { stamp: string; key: SecretKey | undefined } | undefined;
  private readonly file: string;

  constructor(
    keyroot: string,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {
    this.file = join(keyroot, PASSWORD_FILE);
  }

  /** The key, or undefined when there is no password; throws when crypto.pass is empty or unreadable. */
  current(): SecretKey | undefined {
    if (this.env.SALTY_PASSWORD) return deriveKey(this.env.SALTY_PASSWORD);
    const st = statSync(this.file, { throwIfNoEntry: false, bigint: true });
    const stamp = st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : "none";
    if (this.seen?.stamp === stamp) return this.seen.key;
    const key = st
      ? deriveKey(this.readFile())
      : this.env.PASSWORD
        ? deriveKey(this.env.PASSWORD)
        : undefined;
    this.seen = { stamp, key };
    return key;
  }

  private readFile(): string {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      throw new SaltyError(`cannot read ${this.file}: ${errorMessage(err)}`, "E_PASSWORD");
    }
    const password = text.trim();
    if (!password) throw new SaltyError(`${this.file} is empty`, "E_PASSWORD");
    return password;
  }
}

/**
 * What in the fileroot needs the password: "hosts/index.ts holds NACL[...]"
 * or the first `.enc` file under files/; undefined when nothing does.
 */
export async function secretsInFileroot(fileroot: string): Promise<string | undefined> {
  const inventory = await readFile(join(fileroot, "hosts", "index.ts"), "utf8").catch(() => "");
  if (inventory.includes("NACL[")) return "hosts/index.ts holds NACL[...] values";
  const names = await readdir(join(fileroot, "files"), { recursive: true }).catch(
    () => [] as string[],
  );
  const enc = names.find((n) => n.endsWith(".enc"));
  return enc ? `files/${enc} is encrypted` : undefined;
}
