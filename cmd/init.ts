import { join } from "node:path";
import { defineCommand } from "./_command.ts";
import { refreshTypes, scaffold } from "../lib/master/scaffold.ts";
import { fingerprint, loadIdentity } from "../lib/crypto/keys.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: {
    name: "init",
    description: "Scaffold a fileroot (hosts/, roles/, files/, keys/) with editor types",
  },
  args: {
    dir: {
      type: "positional",
      required: false,
      description: "Where to create it: a new or empty directory",
      default: ".",
      valueHint: "DIR",
    },
    types: {
      type: "boolean",
      description: "In an existing fileroot, only refresh types/salty.d.ts to this version's",
    },
  },
  async run({ args }) {
    const dir = args.dir ?? ".";
    if (args.types) {
      const done = await refreshTypes(dir);
      const path = join(dir, "types", "salty.d.ts");
      io().stdout.write(
        done === "unchanged" ? `unchanged ${path} (already this version's)\n` : `${done} ${path}\n`,
      );
      return;
    }
    const report = await scaffold(dir);
    const out: string[] = [];
    for (const rel of report.created) out.push(`created ${join(dir, rel)}`);
    for (const rel of report.kept) out.push(`kept    ${join(dir, rel)} (already there)`);
    const master = await loadIdentity(join(dir, "keys"), "master");
    out.push(`master key ${fingerprint(master.publicKey)}`);
    io().stdout.write(out.join("\n") + "\n");
  },
});
