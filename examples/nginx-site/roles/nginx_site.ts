// nginx with a validated main config and one vhost per entry of `sites`; a
// reload when any of them changed (once, at the end of the apply).
import { defineRole } from "salty";

type Site = { name: string; server_name: string; root: string };

export default defineRole(
  { defaults: { worker_connections: 768, sites: [] as Site[] } },
  async (ops, vars) => {
    const { pkg, render, file, makedirs, remove, service, notify } = ops;
    await pkg(["nginx"]);
    // The whole configuration is checked by nginx itself before it replaces the old one.
    const main = await render("site/nginx.conf", "/etc/nginx/nginx.conf", {
      vars: { worker_connections: vars.worker_connections },
      validate: "nginx -t -q -c %s",
    });
    await remove("/etc/nginx/sites-enabled/default");
    const changed = [main.changed];
    for (const site of vars.sites) {
      await makedirs(site.root, { mode: 0o755 });
      await file(`${site.root}/index.html`, { content: `<h1>${site.server_name}</h1>\n` });
      const vhost = await render("site/vhost.conf", `/etc/nginx/sites-enabled/${site.name}.conf`, {
        vars: { site },
      });
      changed.push(vhost.changed);
    }
    await service("nginx", { running: true, enabled: true });
    if (changed.some(Boolean)) await notify("nginx", "reload");
  },
);
