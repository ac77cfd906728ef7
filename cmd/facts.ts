import { defineCommand } from "./_command.ts";
import { gatherFacts } from "../lib/facts/gather.ts";
import { io } from "./_io.ts";

export default defineCommand({
  meta: { name: "facts", description: "Print this host's facts as JSON" },
  async run() {
    io().stdout.write(JSON.stringify(await gatherFacts(), null, 2) + "\n");
  },
});
