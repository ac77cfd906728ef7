// Changes in words, for results: one line per change in a dry run's output
// (`would chmod /etc/x: mode 0644 -> 0600`), and the mode and owner lines a
// --diff shows above a file's diff (`/etc/x: owner root:root -> app:app`).
// Owners are shown by name (looked up once per id); it only reads.

import type { Users } from "../sys/types.ts";
import type { Change } from "./types.ts";
import { plainUrl } from "./download.ts";

/** A uid or gid by name, the number when it has none. */
export interface Names {
  user(uid: number): string;
  group(gid: number): string;
}

export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

function ids(changes: Change[]): { uids: Set<number>; gids: Set<number> } {
  const uids = new Set<number>(),
    gids = new Set<number>();
  const add = (o: { uid?: number; gid?: number } | undefined) => {
    if (o?.uid !== undefined) uids.add(o.uid);
    if (o?.gid !== undefined) gids.add(o.gid);
  };
  for (const c of changes) {
    if (
      c.kind === "exec" ||
      c.kind === "remove" ||
      c.kind === "utime" ||
      c.kind === "chmod" ||
      c.kind === "unarchive"
    )
      continue;
    add(c);
    if (c.kind !== "mkdir" && c.kind !== "symlink") add(c.was);
  }
  return { uids, gids };
}

/** The names of every owner `changes` mention; a lookup that fails leaves the number. */
export async function namesFor(users: Users, changes: Change[]): Promise<Names> {
  const { uids, gids } = ids(changes);
  const look = async <K extends number>(keys: Set<K>, fn: (k: K) => Promise<string | undefined>) =>
    new Map(
      await Promise.all(
        [...keys].map(async (k) => [k, await fn(k).catch(() => undefined)] as const),
      ),
    );
  const u = await look(uids, (id) => users.userName(id));
  const g = await look(gids, (id) => users.groupName(id));
  return { user: (id) => u.get(id) ?? String(id), group: (id) => g.get(id) ?? String(id) };
}

const owner = (n: Names, o: { uid: number; gid: number }) => `${n.user(o.uid)}:${n.group(o.gid)}`;

/** What a change does to the mode and owner of something already there: "mode 0644 -> 0600", "owner root:root -> app:app". */
function ownershipWords(c: Change, n: Names): string[] {
  if (c.kind === "chmod") return [`mode ${octal(c.was)} -> ${octal(c.mode)}`];
  if (c.kind === "chown") return [`owner ${owner(n, c.was)} -> ${owner(n, c)}`];
  if ((c.kind !== "write" && c.kind !== "fetch" && c.kind !== "download") || !c.was) return [];
  const out: string[] = [];
  if (c.was.mode !== c.mode) out.push(`mode ${octal(c.was.mode)} -> ${octal(c.mode)}`);
  if (c.was.uid !== c.uid || c.was.gid !== c.gid)
    out.push(`owner ${owner(n, c.was)} -> ${owner(n, c)}`);
  return out;
}

/** One line per change, for dry-run output. */
export function describeChange(c: Change, n: Names): string {
  switch (c.kind) {
    case "mkdir":
      return `mkdir ${c.path} ${octal(c.mode)} ${owner(n, c)}`;
    case "write":
    case "fetch": {
      const was = ownershipWords(c, n);
      return `${c.kind} ${c.path} (${c.size} bytes) ${octal(c.mode)} ${owner(n, c)}${was.length ? ` (${was.join(", ")})` : ""}${c.validate ? `, validated by ${c.validate}` : ""}`;
    }
    case "chmod":
    case "chown":
      return `${c.kind} ${c.path}: ${ownershipWords(c, n)[0]}`;
    case "symlink":
      return `symlink ${c.path} -> ${c.target}`;
    case "remove":
      return `remove ${c.path}`;
    case "utime":
      return `utime ${c.path}`;
    case "download": {
      const was = ownershipWords(c, n);
      return `download ${plainUrl(c.url)} to ${c.path} ${octal(c.mode)} ${owner(n, c)}${c.sha256 ? `, sha256 ${c.sha256.slice(0, 12)}...` : ""}${was.length ? ` (${was.join(", ")})` : ""}`;
    }
    case "unarchive":
      return `extract ${c.archive} (${c.format}) into ${c.path}`;
    case "exec":
      return `${c.on === "master" ? "run on the master" : "run"}: ${c.argv.join(" ")}`;
  }
}

/** Does `c` change the mode or owner of something already there? */
export function touchesOwnership(c: Change): boolean {
  if (c.kind === "chmod" || c.kind === "chown") return true;
  return (
    (c.kind === "write" || c.kind === "fetch" || c.kind === "download") &&
    !!c.was &&
    (c.was.mode !== c.mode || c.was.uid !== c.uid || c.was.gid !== c.gid)
  );
}

/** "PATH: mode 0644 -> 0600" for each mode or owner that changes on something already there (--diff). */
export function ownershipLines(changes: Change[], n: Names): string[] {
  return changes.flatMap((c) =>
    c.kind === "exec" ? [] : ownershipWords(c, n).map((w) => `${c.path}: ${w}`),
  );
}
