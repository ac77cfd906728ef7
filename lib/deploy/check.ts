// What a release must pass before it may go live: its top.ts has a section
// for the deployment, with targets that parse and role names that are files
// of the bundle's roles/, and each of those roles (with the roles/lib/
// modules it imports) passes the agent's own checks: syntax and imports
// (lib/sys/load-module.ts checkModule). Nothing of the bundle is evaluated
// on the master.

import { lstat, readFile, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { SaltyError, errorMessage } from "../errors.ts";
import { checkModule } from "../sys/load-module.ts";
import { roleModules } from "../master/role-modules.ts";
import { topSection, type TopSection } from "./topfile.ts";

const bad = (why: string) => new SaltyError(`release refused: ${why}`, "E_RELEASE");

/** The deployment's section of the release's top.ts, every role it names checked. */
export async function checkRelease(dir: string, deployment: string): Promise<TopSection> {
  const top = await readFile(join(dir, "top.ts"), "utf8").catch(() => undefined);
  if (top === undefined) throw bad("the bundle has no top.ts");
  let section: TopSection;
  try {
    section = topSection(top, deployment);
  } catch (err) {
    throw bad(errorMessage(err));
  }
  const root = await realpath(dir);
  for (const name of new Set(section.flatMap((s) => s.roles))) {
    const filename = join("roles", `${name}.ts`);
    const st = await lstat(join(dir, filename)).catch(() => undefined);
    if (!st?.isFile())
      throw bad(`top.ts names role ${name} but the bundle has no regular file ${filename}`);
    const real = await realpath(join(dir, filename));
    if (!real.startsWith(root + sep)) throw bad(`${filename} lies outside the bundle`);
    const source = await readFile(real, "utf8");
    const modules = await roleModules(dir, filename, source);
    try {
      checkModule(source, { filename, code: "E_RELEASE", ...(modules ? { modules } : {}) });
    } catch (err) {
      throw bad(errorMessage(err));
    }
  }
  return section;
}
