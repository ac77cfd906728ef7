import { defineCommand } from "citty";
import { notYet } from "./_cli.ts";

export default defineCommand({
  meta: { name: "service", description: "Install or uninstall the agent or master as a systemd/launchd service" },
  subCommands: {
    install: defineCommand({ meta: { name: "install", description: "Write and start a service unit" }, run: () => notYet("service install") }),
    uninstall: defineCommand({ meta: { name: "uninstall", description: "Stop and remove a service unit" }, run: () => notYet("service uninstall") }),
  },
});
