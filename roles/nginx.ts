// In the style of the SPEC's example: the package, directories, copied files,
// a secret file decrypted on the master, a rendered config, the service, and a
// reload only when the config changed (a handler: run once at the end of the
// apply, after every role; skipped while the host is being bootstrapped).
import type { Role } from "salty";

export default (async ({ pkg, service, makedirs, copy, render, lineInFile, symlink, me }) => {
  // The demo (npm run demo) writes under --path sandboxes on the machine it runs
  // on: only a host that says so gets the real package and service.
  const system = me.vars.manage_system === true;
  if (system) await pkg(["nginx"], { update: "1h" });
  await makedirs("/opt/demo/log/nginx");
  await makedirs("/opt/demo/etc/nginx/ssl", { mode: 0o700 });
  await copy("nginx/mime.types", "/opt/demo/etc/nginx/mime.types");
  await copy("nginx/ssl/demo.key", "/opt/demo/etc/nginx/ssl/demo.key", {
    mode: 0o600,
    ...(system ? { notify: "nginx:restart" } : {}),
  });
  await render(
    "nginx/nginx.conf",
    "/opt/demo/etc/nginx/nginx.conf",
    system ? { notify: "nginx:reload" } : {},
  );
  await lineInFile("127.0.0.1 localhost", "/opt/demo/etc/hosts");
  await symlink("/opt/demo/etc/nginx/nginx.conf", "/opt/demo/etc/nginx.conf");
  if (system) await service("nginx", { running: true, enabled: true });
}) satisfies Role;
