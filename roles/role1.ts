// A tour of the operators: copy, render with host vars and facts, a loop,
// a shell command run only when something changed (its values quoted), and a directory sync.
import type { Role } from "salty";

export default (async ({
  copy,
  render,
  makedirs,
  syncdir,
  shell,
  print,
  isChanged,
  quote,
  id,
  me,
}) => {
  await makedirs("/opt/demo/etc/workers");
  await copy("role1/motd", "/opt/demo/etc/motd");
  await render("role1/app.conf", "/opt/demo/etc/app.conf", {
    vars: { port: 8000 + Number(me.vars.weight) },
  });
  for (const name of ["alpha", "beta", "gamma"]) {
    await render("role1/worker.conf", `/opt/demo/etc/workers/${name}.conf`, { vars: { name } });
  }
  await syncdir("files/role1/static", "/opt/demo/static", { exclude: ["drafts", "*.tmp"] });
  // A command line built from values: each quoted (or pass an argv list, as nginx.ts does).
  if (isChanged())
    await shell(`echo configuration of ${quote(id)} changed`, { env: { LANG: "C" } });
  print(`${id} has weight ${me.vars.weight}`);
}) satisfies Role;
