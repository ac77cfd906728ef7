import { defineCommand } from "citty";
import { filerootArg, keyrootArg, notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "meta", description: "Print the resolved inventory as JSON (secrets masked)" },
  args: {
    ...keyrootArg,
    ...filerootArg,
    "show-secrets": { type: "boolean", description: "Show decrypted secret values" },
  },
  run() {
    notYet("meta");
  },
});
