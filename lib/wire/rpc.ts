// Request/response over a FrameLink, many calls in flight in both directions.
// Messages are msgpack arrays:
//   [0, id, method, params]  request        [1, id, result]        success
//   [3, method, params]      notification   [2, id, {message,code}] failure
//   [0, id, method, params, {json: true}]   [4, id, text]   success as JSON text
// The last pair is for a client's calls whose replies are large (an apply
// report of 10,000 hosts): the client parses JSON natively, ~10x faster than
// msgpack in its cold code (docs/performance.md, "Seventh session"). A peer
// that does not know it ignores the fifth element and replies [1, id, result];
// a [4, ...] to a call that did not ask for it is a protocol error.
// The one place where a remote failure becomes a thrown RpcError: call sites
// never inspect an error field. A malformed message drops the connection, and
// so does one over the limits of its kind (`Inbound`): a peer's requests, and
// its replies to each of our calls, are measured before they are decoded.
// A method given an undecoded handler (`Undecoded`) gets its params as the
// measured bytes: its handler decodes what it needs, where it needs it.

import { SaltyError, ProtocolError, errorMessage } from "../errors.ts";
import { limits, timing } from "../constants.ts";
import { log } from "../log.ts";
import { decode, encode, frameLimits, type DecodeLimits } from "./codec.ts";
import { measure } from "./_measure.ts";
import type { FrameLink } from "./link.ts";

export type Method<P, R> = { params: P; result: R };
// biome-ignore lint: any is the bound of every API shape
export type Api = Record<string, Method<any, any>>;
export type Handlers<A extends Api> = {
  [M in keyof A]: (params: A[M]["params"]) => Promise<A[M]["result"]> | A[M]["result"];
};

export class RpcError extends SaltyError {
  constructor(message: string, code: string) {
    super(message, code);
    this.name = "RpcError";
  }
}

const REQ = 0,
  OK = 1,
  ERR = 2,
  NOTE = 3,
  OK_JSON = 4;

/** A request's fifth element: the caller parses a JSON reply ([4, id, text]). */
const ASK_JSON = { json: true };

/**
 * Handlers that take a request's params as bytes, measured against the limits of requests but not
 * decoded (the agent's role requests: agent/role-request.ts). Only for `[0, id, method, params]`
 * with a short method name, which is what this module sends.
 */
export type Undecoded<A extends Api> = {
  [M in keyof A]?: (params: Uint8Array) => Promise<A[M]["result"]>;
};

/** How much a peer may send: its requests, notifications and error replies; and its successful reply to each method we call. */
export interface Inbound {
  request: DecodeLimits;
  reply(method: string): DecodeLimits;
}

/** A peer trusted up to the frame limit (the master, as agents and clients see it). */
const TRUSTED: Inbound = { request: frameLimits, reply: () => frameLimits };

/** The kind and id of a message (`[kind, id, ...]`), read from its first bytes without decoding it. */
function peekHead(f: Uint8Array): { kind: number; id?: number } | undefined {
  const at =
    f[0] === 0xdc
      ? 3
      : f[0] === 0xdd
        ? 5
        : f[0] !== undefined && f[0] >= 0x91 && f[0] <= 0x9f
          ? 1
          : 0;
  const kind = at ? f[at] : undefined;
  if (kind === undefined || kind > OK_JSON) return undefined;
  const t = f[at + 1];
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const n = f.length - at - 2;
  if (kind === NOTE || t === undefined) return { kind };
  if (t <= 0x7f) return { kind, id: t };
  if (t === 0xcc && n >= 1) return { kind, id: v.getUint8(at + 2) };
  if (t === 0xcd && n >= 2) return { kind, id: v.getUint16(at + 2) };
  if (t === 0xce && n >= 4) return { kind, id: v.getUint32(at + 2) };
  return { kind };
}

/**
 * `[1, id, null]`, a ping's reply and every other without a value, as the encoder writes it (the
 * smallest integer form), without the encoder: ~20 µs less in the interpreter, where an agent runs it.
 */
export function nullReply(id: number): Uint8Array {
  if (id <= 0x7f) return Uint8Array.of(0x93, OK, id, 0xc0);
  if (id <= 0xff) return Uint8Array.of(0x93, OK, 0xcc, id, 0xc0);
  if (id <= 0xffff) return Uint8Array.of(0x93, OK, 0xcd, id >>> 8, id & 0xff, 0xc0);
  if (id <= 0xffffffff)
    return Uint8Array.of(
      0x93,
      OK,
      0xce,
      id >>> 24,
      (id >>> 16) & 0xff,
      (id >>> 8) & 0xff,
      id & 0xff,
      0xc0,
    );
  return encode([OK, id, null]);
}

/**
 * `[4, id, text]`, or `[1, id, result]` when JSON cannot hold it (a BigInt, a cycle) or its text
 * would pass the frame limit where msgpack, ~25 % smaller for a report, may not.
 */
function jsonReply(id: number, result: unknown): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(result);
  } catch {
    return encode([OK, id, result]);
  }
  if (typeof text !== "string") return encode([OK, id, result]);
  const framed = encode([OK_JSON, id, text]);
  return framed.length + 64 <= limits.maxFrame ? framed : encode([OK, id, result]);
}

/** The value of `[4, id, text]` for the call it answers. */
function jsonValue(p: Pending, text: unknown): unknown {
  if (!p.json) throw new ProtocolError(`${p.method}: a JSON reply it did not ask for`, "E_SHAPE");
  if (typeof text !== "string")
    throw new ProtocolError(`${p.method}: a JSON reply without text`, "E_SHAPE");
  return JSON.parse(text);
}

interface Pending {
  method: string;
  /** It asked for its reply as JSON text. */
  json: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Rpc<Local extends Api, Remote extends Api> {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closeReason: string | undefined;
  private closeHandlers: Array<(reason: string) => void> = [];
  /** performance.now() of the last frame received: liveness checks read it. */
  lastSeen = performance.now();

  constructor(
    readonly link: FrameLink,
    private handlers: Handlers<Local>,
    private inbound: Inbound = TRUSTED,
    private undecoded?: Undecoded<Local>,
  ) {
    link.onFrame((f) => this.receive(f));
    link.onClose((reason) => this.closed(reason));
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  call<M extends keyof Remote & string>(
    method: M,
    params: Remote[M]["params"],
    opts: {
      timeoutMs?: number;
      /**
       * Ask for the reply as JSON text, parsed here natively: for large replies whose values JSON holds
       * (no binaries; a non-finite number arrives as null), from a peer trusted up to the frame limit
       * (JSON.parse has no limits of its own).
       */
      json?: boolean;
    } = {},
  ): Promise<Remote[M]["result"]> {
    if (this.closeReason !== undefined)
      return Promise.reject(new RpcError(`connection lost (${this.closeReason})`, "E_CONN_LOST"));
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? timing.callTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(`${method}: no reply within ${timeoutMs / 1000}s`, "E_TIMEOUT"));
      }, timeoutMs);
      const json = opts.json === true;
      this.pending.set(id, { method, json, resolve, reject, timer });
      try {
        this.link.send(
          encode(json ? [REQ, id, method, params, ASK_JSON] : [REQ, id, method, params]),
        );
      } catch (err) {
        // Never sent (too large for a frame): nothing will answer, so nothing waits.
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      }
    });
  }

  /** Calls and notifications made inside `fn` leave in one write where the link can (FrameLink.batch). */
  batch<T>(fn: () => T): T {
    return this.link.batch ? this.link.batch(fn) : fn();
  }

  notify<M extends keyof Remote & string>(method: M, params: Remote[M]["params"]): void {
    if (this.closeReason === undefined) this.link.send(encode([NOTE, method, params]));
  }

  close(reason = "closed"): void {
    this.link.close(reason);
  }

  onClose(handler: (reason: string) => void): void {
    if (this.closeReason !== undefined) handler(this.closeReason);
    else this.closeHandlers.push(handler);
  }

  private receive(frame: Uint8Array): void {
    this.lastSeen = performance.now();
    const head = peekHead(frame);
    const raw = head?.kind === REQ && this.undecoded ? this.undecodedRequest(frame) : undefined;
    if (raw) return this.serveUndecoded(frame, raw);
    const waiting =
      (head?.kind === OK || head?.kind === OK_JSON) && head.id !== undefined
        ? this.pending.get(head.id)
        : undefined;
    let msg: unknown;
    try {
      msg = decode(frame, waiting ? this.inbound.reply(waiting.method) : this.inbound.request);
    } catch (err) {
      if (err instanceof SaltyError && err.code === "E_TOO_LARGE" && head)
        return this.refuse(head, errorMessage(err));
      return this.protocolError(err);
    }
    try {
      if (!Array.isArray(msg) || typeof msg[0] !== "number")
        throw new ProtocolError("message is not an rpc array", "E_SHAPE");
      this.dispatch(msg);
    } catch (err) {
      this.protocolError(err);
    }
  }

  /** `[0, id, method, params]` (a fixarray of 4, a fixstr method) for a method with an undecoded handler. */
  private undecodedRequest(
    f: Uint8Array,
  ): { id: number; method: string; params: number } | undefined {
    if (f[0] !== 0x94 || f[1] !== REQ) return undefined;
    const t = f[2]!;
    const at = t <= 0x7f ? 3 : t === 0xcc ? 4 : t === 0xcd ? 5 : t === 0xce ? 7 : 0;
    const n = (f[at] ?? 0) - 0xa0;
    if (!at || n < 1 || n > 31 || at + 1 + n >= f.length) return undefined;
    let method = ""; // a loop, not a spread: the interpreter runs a spread's iteration slowly
    for (let i = at + 1; i <= at + n; i++) method += String.fromCharCode(f[i]!);
    if (!Object.hasOwn(this.undecoded!, method)) return undefined;
    const id =
      t <= 0x7f
        ? t
        : t === 0xcc
          ? f[3]!
          : t === 0xcd
            ? (f[3]! << 8) | f[4]!
            : new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(3);
    return { id, method, params: at + 1 + n };
  }

  /** Measured as every request is (a malformed one drops the connection), then handed on as bytes. */
  private serveUndecoded(frame: Uint8Array, r: { id: number; method: string; params: number }) {
    try {
      measure(frame, this.inbound.request);
    } catch (err) {
      if (err instanceof SaltyError && err.code === "E_TOO_LARGE")
        return this.refuse({ kind: REQ, id: r.id }, errorMessage(err));
      return this.protocolError(err);
    }
    const handler = (this.undecoded as Record<string, (p: Uint8Array) => unknown>)[r.method]!;
    void this.serve(r.id, r.method, frame.subarray(r.params), false, handler);
  }

  private protocolError(err: unknown): void {
    log("rpc.protocol_error", { peer: this.link.peer, error: errorMessage(err) });
    this.link.close(`protocol error: ${errorMessage(err)}`);
  }

  /**
   * A message larger than its kind allows, left undecoded: a request is answered with the error, a
   * reply fails its call, a notification is dropped; the connection stays (nothing was malformed).
   */
  private refuse(head: { kind: number; id?: number }, why: string): void {
    log("rpc.too_large", { peer: this.link.peer, kind: head.kind, error: why });
    if (head.id === undefined) return;
    if (head.kind === REQ && !this.isClosed)
      return void this.link.send(encode([ERR, head.id, { message: why, code: "E_TOO_LARGE" }]));
    const p = head.kind === OK || head.kind === ERR ? this.pending.get(head.id) : undefined;
    if (!p) return;
    this.pending.delete(head.id);
    clearTimeout(p.timer);
    p.reject(new RpcError(`${p.method}: the reply was refused: ${why}`, "E_TOO_LARGE"));
  }

  private dispatch(msg: unknown[]): void {
    const [kind, a, b, c, d] = msg;
    if (kind === REQ && typeof a === "number" && typeof b === "string")
      return void this.serve(a, b, c, (d as { json?: unknown } | undefined)?.json === true);
    if (kind === NOTE && typeof a === "string") return void this.serve(undefined, a, b);
    if ((kind === OK || kind === OK_JSON || kind === ERR) && typeof a === "number") {
      const p = this.pending.get(a);
      if (!p) return; // a reply after its timeout: nothing waits for it any more
      // Parsed before the call is settled: a JSON reply it did not ask for, or text that does not
      // parse, drops the connection, which fails the call.
      const value = kind === OK_JSON ? jsonValue(p, b) : b;
      this.pending.delete(a);
      clearTimeout(p.timer);
      if (kind !== ERR) return p.resolve(value);
      const e = (b ?? {}) as { message?: unknown; code?: unknown };
      return p.reject(
        new RpcError(
          `${p.method}: ${String(e.message ?? "remote error")}`,
          String(e.code ?? "E_REMOTE"),
        ),
      );
    }
    throw new ProtocolError(`unknown message kind ${String(kind)}`, "E_SHAPE");
  }

  private async serve(
    id: number | undefined,
    method: string,
    params: unknown,
    json = false,
    handler = Object.hasOwn(this.handlers, method)
      ? (this.handlers as Record<string, (p: never) => unknown>)[method]
      : undefined,
  ): Promise<void> {
    try {
      if (!handler) throw new RpcError(`unknown method ${method}`, "E_UNKNOWN_METHOD");
      const result = await handler(params as never);
      if (id !== undefined && !this.isClosed)
        this.link.send(
          result == null ? nullReply(id) : json ? jsonReply(id, result) : encode([OK, id, result]),
        );
    } catch (err) {
      const code = err instanceof SaltyError ? err.code : "E_INTERNAL";
      if (id !== undefined && !this.isClosed)
        this.link.send(encode([ERR, id, { message: errorMessage(err), code }]));
      else if (id === undefined)
        log("rpc.notify_failed", { peer: this.link.peer, method, error: errorMessage(err) });
    }
  }

  private closed(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RpcError(`${p.method}: connection lost (${reason})`, "E_CONN_LOST"));
    }
    this.pending.clear();
    for (const h of this.closeHandlers.splice(0)) h(reason);
  }
}
