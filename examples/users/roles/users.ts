// Accounts: a deploy user for CI (its keys, exactly), admins with their keys
// from an .enc file (decrypted on the master, sent only to this host), and
// sudo rights checked by visudo before they replace the old file.
import { defineRole } from "salty";

export default defineRole(
  { defaults: { admins: [] as string[], deploy_keys: [] as string[] } },
  async (ops, vars) => {
    const { pkg, group, user, authorizedKeys, makedirs, copy, file } = ops;
    await pkg(["sudo"]);
    await group("deployers", { system: true });
    await user("deploy", { shell: "/bin/bash", groups: ["deployers"], comment: "CI deploys" });
    await authorizedKeys("deploy", vars.deploy_keys, { exclusive: true });
    for (const name of vars.admins) {
      await user(name, { shell: "/bin/bash", groups: ["sudo"] });
      await makedirs(`/home/${name}/.ssh`, { user: name, group: name, mode: 0o700 });
      await copy(`users/${name}.keys`, `/home/${name}/.ssh/authorized_keys`, {
        user: name,
        group: name,
        mode: 0o600,
      });
    }
    await file("/etc/sudoers.d/deployers", {
      content:
        "# managed by salty\n%deployers ALL=(root) NOPASSWD: /usr/bin/systemctl restart app.service\n",
      mode: 0o440,
      validate: "visudo -cf %s",
    });
  },
);
