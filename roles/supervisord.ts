// Directories, a rendered config, and a restart only when the config changed
// and the host is not being bootstrapped (no supervisord running yet then).
import type { Role } from "salty";

export default (async ({ makedirs, render, shell, bootstrap }) => {
  await makedirs("/opt/demo/supervisord/conf.d");
  await makedirs("/opt/demo/log/supervisord", { mode: 0o750 });
  const conf = await render(
    "supervisord/supervisord.conf",
    "/opt/demo/supervisord/supervisord.conf",
  );
  if (conf.changed && !bootstrap) {
    const reread = await shell(["echo", "supervisorctl", "reread"]);
    if (reread.rc === 0) await shell(["echo", "supervisorctl", "update"]);
  }
}) satisfies Role;
