import { defineCommand } from "citty";
import { gatherFacts } from "../lib/facts/gather.ts";

export default defineCommand({
  meta: { name: "facts", description: "Print this host's facts as JSON" },
  async run() {
    process.stdout.write(JSON.stringify(await gatherFacts(), null, 2) + "\n");
  },
});
