// The names of everything a role receives besides its context: the planned
// operators of table.ts and the helpers index.ts binds itself. Pure data, no
// imports, so that the inventory can refuse an apply argument that would
// shadow one without loading any operator.

/** The planned operators, in the order of the README's table. */
export const PLANNED_NAMES = [
  "copy",
  "render",
  "lineInFile",
  "file",
  "cron",
  "makedirs",
  "remove",
  "symlink",
  "syncdir",
  "git",
  "download",
  "unarchive",
  "release",
  "shell",
  "serverShell",
  "useradd",
  "usergroups",
  "user",
  "group",
  "authorizedKeys",
  "pkg",
  "service",
  "unit",
] as const;

/** Bound per role run by index.ts, not planned: queue a handler, print, look back, addresses, quoting. */
export const HELPER_NAMES = ["notify", "print", "isChanged", "myIp", "getIps", "quote"] as const;

export type PlannedName = (typeof PLANNED_NAMES)[number];
export type HelperName = (typeof HELPER_NAMES)[number];

/** Every name a role receives from salty besides its context. */
export const OPERATOR_NAMES: readonly (PlannedName | HelperName)[] = [
  ...PLANNED_NAMES,
  ...HELPER_NAMES,
];
