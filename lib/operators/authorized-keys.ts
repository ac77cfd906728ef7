// authorizedKeys(user, keys, {exclusive}): ~user/.ssh/authorized_keys holds
// these public keys, the directory 0700 and the file 0600, both owned by the
// user. Without `exclusive` the keys missing are added and the others kept (a
// key is the same key when its type and base64 blob are, whatever its
// options or comment); with it the file is exactly these keys. The home
// comes from /etc/passwd (dscl on macOS) through the probe; the file is a
// destination, under --path like every operator's.

import { posix } from "node:path";
import type { AuthorizedKeysOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import type { UserInfo } from "../sys/types.ts";
import { parseDscl, parsePasswd } from "./_account-files.ts";
import { current, planContent } from "./_file.ts";
import { ownership, parents } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { Change, OpCtx, Operator, Plan } from "./types.ts";
import { checkName } from "./useradd.ts";
import { unifiedDiff } from "./unified-diff.ts";

const KEY =
  /(?:^|\s)((?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:-cert-v01@openssh\.com)?)\s+([A-Za-z0-9+/]+={0,3})(?:\s|$)/;

/** The identity of a key line, "type blob", or undefined for a comment, a blank or another line (pure). */
export function keyId(line: string): string | undefined {
  const l = line.trim();
  if (l === "" || l.startsWith("#")) return undefined;
  const m = KEY.exec(l);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

/** The keys given, checked: one line each, a public key in each. */
export function checkKeys(keys: unknown): string[] {
  const list = typeof keys === "string" ? [keys] : keys;
  if (!Array.isArray(list) || list.some((k) => typeof k !== "string"))
    throw new SaltyError("keys must be a public key line or a list of them", "E_ARG");
  return list.map((k: string) => {
    const line = k.trim();
    if (/[\n\r\0]/.test(line))
      throw new SaltyError("a key must be one line (it contains a newline)", "E_ARG");
    if (!keyId(line))
      throw new SaltyError(
        `not an SSH public key line: ${line.slice(0, 40)}${line.length > 40 ? "…" : ""}`,
        "E_ARG",
      );
    return line;
  });
}

/** The new text of the file (pure): exactly `keys`, or `text` with the keys it lacks appended. */
export function mergeKeys(text: string, keys: string[], exclusive: boolean): string {
  if (exclusive) return keys.length ? `${keys.join("\n")}\n` : "";
  const have = new Set(text.split("\n").map(keyId).filter(Boolean));
  const add: string[] = [];
  for (const k of keys) {
    const id = keyId(k)!;
    if (!have.has(id)) have.add(id), add.push(k);
  }
  if (!add.length) return text;
  return `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${add.join("\n")}\n`;
}

async function homeOf(ctx: OpCtx, info: UserInfo): Promise<string> {
  if (info.planned?.home) return info.planned.home; // planned earlier in this dry run
  if (info.uid < 0) return `/home/${info.name}`; // made by useradd() earlier in this dry run: its default
  if (ctx.users.platform === "darwin") {
    const r = await ctx.probe.run([
      "dscl",
      ".",
      "-read",
      `/Users/${info.name}`,
      "NFSHomeDirectory",
    ]);
    const home = parseDscl(r.stdout).get("NFSHomeDirectory");
    if (home) return home;
  } else {
    const home = parsePasswd((await ctx.probe.read("/etc/passwd")) ?? "").get(info.name)?.home;
    if (home) return home;
  }
  throw new SaltyError(`no home directory known for ${info.name}`, "E_NO_HOME");
}

export const authorizedKeys: Operator<
  [user: string, keys: string | string[], opts?: AuthorizedKeysOpts]
> = {
  describe: (user, keys, opts) =>
    `authorizedKeys(${user}, ${Array.isArray(keys) ? keys.length : 1} key${Array.isArray(keys) && keys.length !== 1 ? "s" : ""}${opts?.exclusive ? ", exclusive" : ""})`,
  async plan(ctx: OpCtx, name, keys, opts = {}) {
    checkName(name);
    const list = checkKeys(keys);
    if (opts.exclusive !== undefined && typeof opts.exclusive !== "boolean")
      throw new SaltyError("exclusive must be true or false", "E_ARG");
    const info = await ctx.users.user(name);
    if (!info) throw new SaltyError(`no such user: ${name}`, "E_NO_USER");
    const home = await homeOf(ctx, info);
    if (!home.startsWith("/"))
      throw new SaltyError(`the home of ${name} is not an absolute path: ${home}`, "E_NO_HOME");
    const dir = destination(ctx, posix.join(home, ".ssh"));
    const dest = destination(ctx, posix.join(dir.path, "authorized_keys"));
    const owner = { uid: info.uid, gid: info.gid };
    const dirSt = await ctx.observe.lstat(dir.real);
    if (dirSt && dirSt.type !== "dir")
      throw new SaltyError(`${dir.path} exists and is not a directory`, "E_NOT_DIR");
    const now = dirSt ? await current(ctx, dest) : { st: undefined, have: undefined };
    if (now.st && now.st.type !== "file")
      throw new SaltyError(`${dest.path} is not a regular file`, "E_NOT_FILE");
    const old = now.st ? new TextDecoder().decode(await ctx.observe.read(dest.real)) : "";
    const data = new TextEncoder().encode(mergeKeys(old, list, opts.exclusive === true));
    const content = { hash: hashBytes(data), size: data.length, data };
    const dirChanges: Change[] = dirSt
      ? ownership(dir.path, dirSt, 0o700, owner)
      : [
          ...(await parents(ctx, dir.path)),
          { kind: "mkdir", path: dir.path, mode: 0o700, ...owner },
        ];
    let plan: Plan;
    if (dirSt) plan = await planContent(ctx, dest, now, content, 0o600, owner);
    else {
      plan = {
        changes: [
          {
            kind: "write",
            path: dest.path,
            hash: content.hash,
            size: content.size,
            mode: 0o600,
            ...owner,
          },
        ],
        created: true,
        blobs: new Map([[content.hash, data]]),
      };
      if (ctx.diff)
        plan.diff = unifiedDiff("", new TextDecoder().decode(data), {
          from: "/dev/null",
          to: dest.path,
        });
    }
    plan.changes = [...dirChanges, ...plan.changes];
    if (!plan.changes.length)
      plan.note = opts.exclusive
        ? "exactly these keys; modes and owner match"
        : "the keys are there; modes and owner match";
    else delete plan.note;
    return plan;
  },
};
