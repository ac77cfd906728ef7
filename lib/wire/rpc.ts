// Request/response over a FrameLink, many calls in flight in both directions.
// Messages are msgpack arrays:
//   [0, id, method, params]  request        [1, id, result]        success
//   [3, method, params]      notification   [2, id, {message,code}] failure
// The one place where a remote failure becomes a thrown RpcError: call sites
// never inspect an error field. A malformed message drops the connection.

import { SaltyError, ProtocolError, errorMessage } from "../errors.ts";
import { timing } from "../constants.ts";
import { log } from "../log.ts";
import { decode, encode } from "./codec.ts";
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

const REQ = 0, OK = 1, ERR = 2, NOTE = 3;

interface Pending {
  method: string;
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
    opts: { timeoutMs?: number } = {},
  ): Promise<Remote[M]["result"]> {
    if (this.closeReason !== undefined) return Promise.reject(new RpcError(`connection lost (${this.closeReason})`, "E_CONN_LOST"));
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? timing.callTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(`${method}: no reply within ${timeoutMs / 1000}s`, "E_TIMEOUT"));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      try {
        this.link.send(encode([REQ, id, method, params]));
      } catch (err) {
        // Never sent (too large for a frame): nothing will answer, so nothing waits.
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      }
    });
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
    let msg: unknown;
    try {
      msg = decode(frame);
      if (!Array.isArray(msg) || typeof msg[0] !== "number") throw new ProtocolError("message is not an rpc array", "E_SHAPE");
      this.dispatch(msg);
    } catch (err) {
      log("rpc.protocol_error", { peer: this.link.peer, error: errorMessage(err) });
      this.link.close(`protocol error: ${errorMessage(err)}`);
    }
  }

  private dispatch(msg: unknown[]): void {
    const [kind, a, b, c] = msg;
    if (kind === REQ && typeof a === "number" && typeof b === "string") return void this.serve(a, b, c);
    if (kind === NOTE && typeof a === "string") return void this.serve(undefined, a, b);
    if ((kind === OK || kind === ERR) && typeof a === "number") {
      const p = this.pending.get(a);
      if (!p) return; // a reply after its timeout: nothing waits for it any more
      this.pending.delete(a);
      clearTimeout(p.timer);
      if (kind === OK) return p.resolve(b);
      const e = (b ?? {}) as { message?: unknown; code?: unknown };
      return p.reject(new RpcError(`${p.method}: ${String(e.message ?? "remote error")}`, String(e.code ?? "E_REMOTE")));
    }
    throw new ProtocolError(`unknown message kind ${String(kind)}`, "E_SHAPE");
  }

  private async serve(id: number | undefined, method: string, params: unknown): Promise<void> {
    const handler = Object.hasOwn(this.handlers, method) ? (this.handlers as Record<string, (p: unknown) => unknown>)[method] : undefined;
    try {
      if (!handler) throw new RpcError(`unknown method ${method}`, "E_UNKNOWN_METHOD");
      const result = await handler(params);
      if (id !== undefined && !this.isClosed) this.link.send(encode([OK, id, result ?? null]));
    } catch (err) {
      const code = err instanceof SaltyError ? err.code : "E_INTERNAL";
      if (id !== undefined && !this.isClosed) this.link.send(encode([ERR, id, { message: errorMessage(err), code }]));
      else if (id === undefined) log("rpc.notify_failed", { peer: this.link.peer, method, error: errorMessage(err) });
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
