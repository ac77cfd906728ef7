// Shape checks for parameters that arrive from the network: a handler states
// what it expects and gets a clear E_PARAMS error otherwise. Pure.

import { SaltyError } from "../errors.ts";

export function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array)
    throw bad(what, "an object", v);
  return v as Record<string, unknown>;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== "string") throw bad(what, "a string", v);
  return v;
}

export function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, what);
}

export function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad(what, "an integer", v);
  return v;
}

export function bool(v: unknown, what: string): boolean {
  if (typeof v !== "boolean") throw bad(what, "a boolean", v);
  return v;
}

export function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw bad(what, "a list of strings", v);
  return v;
}

function bad(what: string, expected: string, got: unknown): SaltyError {
  const kind =
    got === null
      ? "null"
      : Array.isArray(got)
        ? "array"
        : got instanceof Uint8Array
          ? "bytes"
          : typeof got;
  return new SaltyError(`${what} must be ${expected}, got ${kind}`, "E_PARAMS");
}
