// The one table of planned operators: each entry plans (and is applied by
// run.ts) and is bound to a role run by index.ts. From this table derive the
// role API (index.ts), the names an apply argument may not take
// (inventory/args.ts, through names.ts) and the operators the JSON case runner
// knows (test/operators/cases.test.ts). Adding an operator: its file, one line
// here, its name in names.ts, its type in types/salty.d.ts
// (docs/adding-an-operator.md).

import { copy } from "./copy.ts";
import { cron } from "./cron.ts";
import { download } from "./download.ts";
import { file } from "./file.ts";
import { git } from "./git.ts";
import { lineInFile } from "./line-in-file.ts";
import { makedirs } from "./makedirs.ts";
import type { PlannedName } from "./names.ts";
import { pkg } from "./pkg.ts";
import { release } from "./release.ts";
import { remove } from "./remove.ts";
import { render } from "./render.ts";
import { service } from "./service.ts";
import { serverShell, shell } from "./shell.ts";
import { symlink } from "./symlink.ts";
import { syncdir } from "./syncdir.ts";
import type { Operator } from "./types.ts";
import { unarchive } from "./unarchive.ts";
import { unit } from "./unit.ts";
import { useradd } from "./useradd.ts";
import { usergroups } from "./usergroups.ts";
import { user } from "./user.ts";
import { group } from "./group.ts";
import { authorizedKeys } from "./authorized-keys.ts";

/** Every planned operator by its role-facing name; a name missing from names.ts (or extra here) is a compile error. */
export const OPERATORS = {
  copy,
  render,
  lineInFile,
  file,
  cron,
  makedirs,
  remove,
  symlink,
  syncdir,
  git,
  download,
  unarchive,
  release,
  shell,
  serverShell,
  useradd,
  usergroups,
  user,
  group,
  authorizedKeys,
  pkg,
  service,
  unit,
  // biome-ignore lint/suspicious/noExplicitAny: operators have different argument tuples
} satisfies Record<PlannedName, Operator<any>>;
