// A release deploy: the artifact downloaded and checked against its sha256,
// extracted into releases/VERSION, `current` switched to it (the last 3
// releases kept), a systemd unit, and a restart only when something changed.
import { defineRole } from "salty";

export default defineRole({ defaults: { port: 8080, keep: 3 } }, async (ops, vars) => {
  const { args, user, makedirs, download, unarchive, release, unit, file, service, notify, print } =
    ops;
  const version = String(args.version ?? "");
  const sha256 = String(args.sha256 ?? "");
  const url = String(args.url ?? "");
  if (!version || !sha256 || !url) throw new Error("apply with version=, sha256= and url=");
  await user("app", {
    system: true,
    home: "/opt/app",
    createHome: false,
    shell: "/usr/sbin/nologin",
  });
  await makedirs("/opt/app/releases");
  const tgz = `/var/cache/app/app-${version}.tar.gz`;
  await download(url, tgz, { sha256 });
  await unarchive(tgz, `/opt/app/releases/${version}`, { sha256 });
  const rel = await release("/opt/app", version, { keep: vars.keep });
  const env = await file("/etc/app/env", {
    content: `PORT=${vars.port}\n`,
    group: "app",
    mode: 0o640,
  });
  const svc = await unit("app.service", "app/app.service", { vars: { port: vars.port } });
  await service("app", { running: true, enabled: true });
  if (rel.changed || env.changed || svc.changed) await notify("app", "restart");
  print(`app ${version} is current`);
});
