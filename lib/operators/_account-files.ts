// The system files of users and groups, read through the probe while
// planning (user(), group()): /etc/passwd, /etc/shadow, /etc/group and
// macOS's `dscl . -read` output, parsed by pure functions; and the check of a
// password, which is a crypt hash and never shown.

import { SaltyError } from "../errors.ts";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}

/** /etc/passwd text by name (pure). */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (
      f.length < 7 ||
      !f[0] ||
      f[0].startsWith("#") ||
      f[0].startsWith("+") ||
      f[0].startsWith("-")
    )
      continue;
    out.set(f[0], {
      name: f[0],
      uid: Number(f[2]),
      gid: Number(f[3]),
      comment: f[4]!,
      home: f[5]!,
      shell: f.slice(6).join(":"),
    });
  }
  return out;
}

/** /etc/shadow text: the password field by name (pure). */
export function parseShadow(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 2 && f[0] && !f[0].startsWith("#")) out.set(f[0], f[1]!);
  }
  return out;
}

/** /etc/group text by name: gid and members (pure). */
export function parseGroups(text: string): Map<string, { gid: number; members: string[] }> {
  const out = new Map<string, { gid: number; members: string[] }>();
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || !f[0] || f[0].startsWith("#")) continue;
    out.set(f[0], {
      gid: Number(f[2]),
      members: (f[3] ?? "").trim().split(",").filter(Boolean).sort(),
    });
  }
  return out;
}

/** `dscl . -read /Users/NAME` text: "Key: value", or the value on the next line(s) indented (pure). */
export function parseDscl(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let key: string | undefined;
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z][\w:.-]*):(?: (.*))?$/.exec(line);
    if (m && !line.startsWith(" ")) {
      key = m[1]!.replace(/^dsAttrTypeNative:/, "");
      out.set(key, (m[2] ?? "").trim());
    } else if (key && line.startsWith(" "))
      out.set(key, [out.get(key), line.trim()].filter(Boolean).join(" "));
  }
  return out;
}

/** A crypt hash ($id$...), or a locked one ("!", "*", "!$6$..."); never echoed in an error. */
export function checkPassword(value: unknown): string {
  if (
    typeof value !== "string" ||
    !/^(!|\*|!?\$[0-9a-z]+\$[./0-9A-Za-z$=,]+|!?[./0-9A-Za-z]{13})$/.test(value)
  ) {
    throw new SaltyError(
      'password must be a crypt hash such as $6$... or $y$... (made with `mkpasswd`), or "!" to lock; a clear-text password is refused (its value is not shown)',
      "E_ARG",
    );
  }
  return value;
}
