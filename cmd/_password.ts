// The crypto password for a command: $SALTY_PASSWORD, else KEYROOT/crypto.pass
// (with a warning when it is weak or open to others, or when it makes $PASSWORD
// ignored), else $PASSWORD, else a prompt on the controlling terminal with echo
// off (io().prompt: cmd/_prompt.ts, which reads /dev/tty, never stdin).

import { join } from "node:path";
import { SaltyError } from "../lib/errors.ts";
import { PASSWORD_FILE, findPassword, passwordFileWarnings } from "../lib/crypto/secrets.ts";
import { lookedNote } from "../lib/client/keyroot.ts";
import { io } from "./_io.ts";

/** `confirm` asks twice (when encrypting, a typo would lock the data away); `searched` is how the keyroot was found. */
export async function obtainPassword(
  keyroot: string,
  opts: { confirm: boolean; searched?: string[] },
): Promise<string> {
  const found = await findPassword(keyroot, io().env);
  if (found !== null) {
    const warnings =
      found.from === "crypto.pass"
        ? [...(found.ignored ? [found.ignored] : []), ...(await passwordFileWarnings(keyroot))]
        : [];
    for (const w of warnings) io().stderr.write(`salty: warning: ${w}\n`);
    return found.password;
  }
  const hint = `set $SALTY_PASSWORD or write ${join(keyroot, PASSWORD_FILE)}`;
  const answers = io().prompt(opts.confirm ? ["Password: ", "Password again: "] : ["Password: "]);
  if (answers === null)
    throw new SaltyError(
      `no password: ${hint} (no terminal to prompt on)${lookedNote(opts.searched)}`,
      "E_PASSWORD",
    );
  const [first, again] = answers;
  if (!first) throw new SaltyError("empty password", "E_PASSWORD");
  if (opts.confirm && again !== first)
    throw new SaltyError("the passwords do not match", "E_PASSWORD");
  return first;
}
