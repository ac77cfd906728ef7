import { defineCommand } from "citty";
import { notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "facts", description: "Print this host's facts as JSON" },
  run() {
    notYet("facts");
  },
});
