// Project and deployment names: they become directory names on the master and
// path segments of the HTTP API, so they are checked in one place. Pure.

import { UsageError } from "../errors.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A project or deployment name: letters, digits, `-` and `_`, at most 63, not starting with a sign. */
export function checkName(value: unknown, what: "project" | "deployment"): string {
  if (typeof value !== "string" || !NAME.test(value))
    throw new UsageError(
      `${what} name must be letters, digits, - and _ (at most 63, starting with a letter or digit), not ${JSON.stringify(value)}`,
    );
  return value;
}
