import { defineCommand } from "citty";
import { keyrootArg, notYet } from "./_cli.ts";

const idArg = { id: { type: "positional", description: "The agent's id", valueHint: "ID" } } as const;

export default defineCommand({
  meta: { name: "keys", description: "List, accept, reject and delete agent keys" },
  subCommands: {
    list: defineCommand({ meta: { name: "list", description: "Show pending, accepted and rejected keys with fingerprints" }, args: { ...keyrootArg }, run: () => notYet("keys list") }),
    accept: defineCommand({
      meta: { name: "accept", description: "Accept an agent's pending key" },
      args: { ...keyrootArg, id: { type: "positional", required: false, description: "The agent's id", valueHint: "ID" }, all: { type: "boolean", description: "Accept every pending key" } },
      run: () => notYet("keys accept"),
    }),
    reject: defineCommand({ meta: { name: "reject", description: "Reject an agent's key" }, args: { ...keyrootArg, ...idArg }, run: () => notYet("keys reject") }),
    delete: defineCommand({ meta: { name: "delete", description: "Forget an agent's key" }, args: { ...keyrootArg, ...idArg }, run: () => notYet("keys delete") }),
    fingerprint: defineCommand({ meta: { name: "fingerprint", description: "Print the master's key fingerprint" }, args: { ...keyrootArg }, run: () => notYet("keys fingerprint") }),
  },
});
