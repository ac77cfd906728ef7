import { defineCommand } from "citty";
import { notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "init", description: "Scaffold a fileroot (hosts/, roles/, files/, keys/) with editor types" },
  args: { dir: { type: "positional", required: false, description: "Where to create it", default: ".", valueHint: "DIR" } },
  run() {
    notYet("init");
  },
});
