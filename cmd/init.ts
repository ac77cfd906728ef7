import { join } from "node:path";
import { defineCommand } from "citty";
import { scaffold } from "../lib/master/scaffold.ts";
import { fingerprint, loadIdentity } from "../lib/crypto/keys.ts";

export default defineCommand({
  meta: { name: "init", description: "Scaffold a fileroot (hosts/, roles/, files/, keys/) with editor types" },
  args: { dir: { type: "positional", required: false, description: "Where to create it", default: ".", valueHint: "DIR" } },
  async run({ args }) {
    const dir = args.dir ?? ".";
    const report = await scaffold(dir);
    const out: string[] = [];
    for (const rel of report.created) out.push(`created ${join(dir, rel)}`);
    for (const rel of report.kept) out.push(`kept    ${join(dir, rel)} (already there)`);
    const master = await loadIdentity(join(dir, "keys"), "master");
    out.push(`master key ${fingerprint(master.publicKey)}`);
    process.stdout.write(out.join("\n") + "\n");
  },
});
