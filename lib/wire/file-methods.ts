// The file methods an agent may call on the master, declared once: each with
// its parameters in call order and the check each parameter gets when it
// arrives from the network. From this table derive the protocol's types
// (api.ts), the agent's RPC stubs, the role worker's bridge to the main thread
// and the master's dispatch, so a method cannot be dropped by one layer and
// kept by another. Pure: the transport is passed in.

import { SaltyError } from "../errors.ts";
import type { FileHash, ReadRange, ScanReply, SourceFile, TreeEntry } from "../sys/types.ts";
import { int, obj, optStr, str } from "./check.ts";

export type { FileHash, ReadRange, ScanReply, SourceFile, TreeEntry };

type Check<T> = (v: unknown, name: string) => T;

function readRanges(v: unknown, name: string): ReadRange[] {
  if (!Array.isArray(v)) throw new SaltyError(`${name} must be a list`, "E_PARAMS");
  return v.map((r, i) => {
    const o = obj(r, `${name}[${i}]`);
    return {
      path: str(o.path, "path"),
      offset: int(o.offset, "offset"),
      length: int(o.length, "length"),
    };
  });
}

export const FILE_METHODS = {
  /** A file under files/; no data when `have` is its hash. */
  fetch: [
    ["path", str],
    ["have", optStr],
  ],
  /** Every entry below a fileroot directory. */
  scan: [["dir", str]],
  /** A scan and its digest; without the entries when `have` (the digest the agent holds, or "") still matches. */
  scanSince: [
    ["dir", str],
    ["have", str],
  ],
  read: [
    ["path", str],
    ["offset", int],
    ["length", int],
  ],
  /** Several reads at once (small syncdir files): at most limits.maxReadBatch, chunkBytes in all. */
  readMany: [["reads", readRanges]],
} as const satisfies Record<string, readonly (readonly [string, Check<unknown>])[]>;

/** What each method answers. */
export interface FileReplies {
  fetch: SourceFile;
  scan: TreeEntry[];
  scanSince: ScanReply;
  read: Uint8Array;
  readMany: Uint8Array[];
}

type Table = typeof FILE_METHODS;
export type FileMethod = keyof Table & keyof FileReplies;

/** The positional arguments of a method, typed by their checks; one that may be undefined is optional. */
type Args<T> = T extends readonly [infer H, ...infer Rest]
  ? H extends readonly [string, Check<infer X>]
    ? undefined extends X
      ? [arg?: X, ...Args<Rest>]
      : [X, ...Args<Rest>]
    : never
  : [];

type Ret<E> = E extends readonly [string, Check<infer R>] ? R : never;
type Key<E> = E extends readonly [infer N extends string, unknown] ? N : never;

/** The parameters object a method travels as (a parameter that may be undefined is optional). */
export type FileParams = {
  [K in FileMethod]: {
    [E in Table[K][number] as undefined extends Ret<E> ? never : Key<E>]: Ret<E>;
  } & {
    [E in Table[K][number] as undefined extends Ret<E> ? Key<E> : never]?: Ret<E>;
  };
};

/** The master's files as the protocol serves them (positional, like a FileSource). */
export type FileProtocol = {
  [K in FileMethod]: (...args: Args<Table[K]>) => Promise<FileReplies[K]>;
};

export const FILE_METHOD_NAMES = Object.keys(FILE_METHODS) as FileMethod[];

export function isFileMethod(name: unknown): name is FileMethod {
  return typeof name === "string" && Object.hasOwn(FILE_METHODS, name);
}

/** A FileProtocol whose every call goes through `send(method, positionalArgs)` (the role worker's bridge). */
export function forwardFiles(
  send: (method: FileMethod, args: unknown[]) => Promise<unknown>,
): FileProtocol {
  return Object.fromEntries(
    FILE_METHOD_NAMES.map((m) => [m, (...args: unknown[]) => send(m, args)]),
  ) as unknown as FileProtocol;
}

/** A FileProtocol over RPC: each call becomes `file.METHOD` with its parameters named (undefined ones left out). */
export function fileStubs(
  call: (method: `file.${FileMethod}`, params: Record<string, unknown>) => Promise<unknown>,
): FileProtocol {
  return forwardFiles((m, args) => {
    const params: Record<string, unknown> = {};
    FILE_METHODS[m].forEach(([name], i) => {
      if (args[i] !== undefined) params[name] = args[i];
    });
    return call(`file.${m}`, params);
  });
}

/** Calls `method` of `files` with positional `args`. */
export function callFile(
  files: FileProtocol,
  method: FileMethod,
  args: unknown[],
): Promise<unknown> {
  return (files[method] as (...a: unknown[]) => Promise<unknown>)(...args);
}

/** The master's handlers of `file.*`: each parameter checked, then the call made on `files`. */
export function fileHandlers(files: FileProtocol): {
  [K in FileMethod as `file.${K}`]: (p: unknown) => Promise<FileReplies[K]>;
} {
  const handlers: Record<string, (p: unknown) => Promise<unknown>> = {};
  for (const m of FILE_METHOD_NAMES) {
    handlers[`file.${m}`] = async (p) => {
      const o = obj(p, "params");
      return callFile(
        files,
        m,
        FILE_METHODS[m].map(([name, check]) => (check as Check<unknown>)(o[name], name)),
      );
    };
  }
  return handlers as never;
}
