// Checking and mapping the paths roles give: destinations are absolute and
// land under --path PREFIX; sources are relative to files/ (copy, render) or
// to the fileroot (syncdir). Pure: no I/O. The master confines sources again.

import { posix } from "node:path";
import { SaltyError } from "../errors.ts";
import type { OpCtx } from "./types.ts";

export interface Dest {
  /** As the role wrote it, normalized: "/etc/x.conf". */
  path: string;
  /** Where it is on this disk: "/tmp/prefix/etc/x.conf" under --path /tmp/prefix. */
  real: string;
}

function nonEmpty(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "")
    throw new SaltyError(`${what} must be a non-empty string`, "E_ARG");
  if (value.includes("\0")) throw new SaltyError(`${what} contains a NUL byte`, "E_ARG");
  return value;
}

/** The real path of a role path (no I/O). */
export function realPath(ctx: Pick<OpCtx, "pathPrefix">, path: string): string {
  return ctx.pathPrefix ? posix.join(ctx.pathPrefix, path) : path;
}

/** An absolute destination path, and where it lies under --path. */
export function destination(ctx: Pick<OpCtx, "pathPrefix">, value: unknown, what = "path"): Dest {
  const raw = nonEmpty(value, what);
  if (!raw.startsWith("/")) throw new SaltyError(`${what} must be absolute: ${raw}`, "E_ARG");
  const path = posix.normalize(raw).replace(/(.)\/$/, "$1");
  return { path, real: realPath(ctx, path) };
}

/** A relative path that stays inside its root. */
function relative(value: unknown, what: string, root: string): string {
  const raw = nonEmpty(value, what);
  const norm = posix.normalize(raw).replace(/\/$/, "");
  if (raw.startsWith("/") || norm === ".." || norm.startsWith("../") || norm === ".") {
    throw new SaltyError(`${what} must be a path inside ${root}: ${raw}`, "E_ARG");
  }
  return norm;
}

/** copy/render source "nginx/x.conf" -> "files/nginx/x.conf". */
export function sourceFile(value: unknown): string {
  return `files/${relative(value, "source", "files/")}`;
}

/** syncdir source: a directory of the fileroot, "files/app/static". */
export function sourceDir(value: unknown): string {
  return relative(value, "source", "the fileroot");
}

/** Ancestors of an absolute path, nearest first: "/a/b/c" -> ["/a/b", "/a", "/"]. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(path); ; p = posix.dirname(p)) {
    out.push(p);
    if (p === "/") return out;
  }
}
