// Loads FILEROOT/hosts/index.ts afresh at every call (edits take effect
// without a restart) and returns its default export as plain data, not yet
// validated (see validate.ts). It must not decrypt anything nor touch the
// network; errors are SaltyError E_INVENTORY naming the file.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { loadModule } from "../sys/load-module.ts";
import { INVENTORY_FILE } from "./validate.ts";

/**
 * The default export of FILEROOT/hosts/index.ts. The module is cached by
 * content: treat the value as read-only (validateInventory returns a copy).
 */
export async function loadInventory(fileroot: string): Promise<unknown> {
  const path = join(fileroot, INVENTORY_FILE);
  let source: string;
  try {
    source = readFileSync(path, "utf8"); // small and local: the thread pool would cost more than the read
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : errorMessage(err);
    throw new SaltyError(`${INVENTORY_FILE}: ${reason} (fileroot ${fileroot})`, "E_INVENTORY");
  }
  const { namespace } = await loadModule(source, { filename: INVENTORY_FILE, code: "E_INVENTORY" });
  if (!("default" in namespace))
    throw new SaltyError(
      `${INVENTORY_FILE}: no default export (write \`export default { hosts: ... } satisfies Inventory\`)`,
      "E_INVENTORY",
    );
  return namespace.default;
}
