import { defineCommand } from "citty";
import { notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "agent", description: "Connect to a master and run the roles it sends (as root, under systemd/launchd)" },
  args: {
    master: { type: "positional", description: "The master's address, MASTER[:PORT] (port 11111 by default)", valueHint: "MASTER[:PORT]" },
    id: { type: "string", description: "This agent's id (default: the host name)" },
    keyroot: { type: "string", description: "Directory of this agent's keys", default: "/etc/salty", valueHint: "DIR" },
    path: { type: "string", description: "Write every destination under this prefix (tests, several agents per machine)", valueHint: "PREFIX" },
    "master-key": { type: "string", description: "The master's public key (base64), instead of trusting it on first contact" },
  },
  run() {
    notYet("agent");
  },
});
