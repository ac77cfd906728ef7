import { defineCommand } from "citty";
import { version } from "../lib/version.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version, git commit and platform" },
  run() {
    process.stdout.write(`salty ${version.version} (${version.commit}) ${version.platform}\n`);
  },
});
