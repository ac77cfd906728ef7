import { defineCommand } from "./_command.ts";
import { version } from "../lib/version.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: { name: "version", description: "Print the version, git commit and platform" },
  run() {
    io().stdout.write(`salty ${version.version} (${version.commit}) ${version.platform}\n`);
  },
});
