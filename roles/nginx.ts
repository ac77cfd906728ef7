// In the style of the SPEC's example: directories, copied files, a secret file
// decrypted on the master, a rendered config, a reload only when it changed.
import type { Role } from "salty";

export default (async ({ makedirs, copy, render, lineInFile, symlink, shell, bootstrap }) => {
  await makedirs("/opt/demo/log/nginx");
  await makedirs("/opt/demo/etc/nginx/ssl", { mode: 0o700 });
  await copy("nginx/mime.types", "/opt/demo/etc/nginx/mime.types");
  await copy("nginx/ssl/demo.key", "/opt/demo/etc/nginx/ssl/demo.key", { mode: 0o600 });
  const conf = await render("nginx/nginx.conf", "/opt/demo/etc/nginx/nginx.conf");
  await lineInFile("127.0.0.1 localhost", "/opt/demo/etc/hosts");
  await symlink("/opt/demo/etc/nginx/nginx.conf", "/opt/demo/etc/nginx.conf");
  if (conf.changed && !bootstrap) await shell(["echo", "nginx", "-s", "reload"]); // an argv: no /bin/sh between salty and the program
}) satisfies Role;
