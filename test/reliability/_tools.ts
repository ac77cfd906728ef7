// Tools of the reliability suite: a raw socket that can also write bytes that
// are not frames, an authenticated peer with a key the test accepted, process
// figures from /proc, and tree snapshots to prove that nothing was written.

import net from "node:net";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import nacl from "tweetnacl";
import { limits } from "../../lib/constants.ts";
import { encodeKey, type Identity } from "../../lib/crypto/keys.ts";
import { FrameDecoder, frameHeader } from "../../lib/wire/frame.ts";
import type { FrameLink } from "../../lib/wire/link.ts";
import { secureClient, type SealedLink } from "../../lib/wire/secure.ts";
import { Rpc, type Handlers } from "../../lib/wire/rpc.ts";
import type { AgentApi, MasterApi } from "../../lib/wire/api.ts";

/** A frame link over a socket the test owns: `writeRaw` sends bytes that need not be frames. */
export class RawSocket implements FrameLink {
  readonly decoder = new FrameDecoder(limits.maxFrame);
  /** Resolves with the local reason (or "closed by peer") once the socket is gone. */
  readonly closed: Promise<string>;
  private frameHandler: ((f: Uint8Array) => void) | undefined;
  private closeHandler: ((reason: string) => void) | undefined;
  private reason: string | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly peer: string,
  ) {
    let done!: (r: string) => void;
    this.closed = new Promise((r) => (done = r));
    socket.on("data", (chunk: Uint8Array) => {
      let frames: Uint8Array[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        return this.close(`bad frame from the master: ${(err as Error).message}`);
      }
      for (const f of frames) this.frameHandler?.(f);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.reason ??= "closed by peer";
      done(this.reason);
      this.closeHandler?.(this.reason);
    });
  }

  get isClosed(): boolean {
    return this.reason !== undefined || this.socket.destroyed;
  }

  setMaxFrame(n: number): void {
    this.decoder.maxFrame = n;
  }

  /** Frames sent through `send`, kept when `record` is set (to replay a handshake). */
  record = false;
  readonly sent: Uint8Array[] = [];

  /** Frames from `send` (the rogue's own rpc answering pings) are dropped: only writeRaw's bytes leave. */
  mute = false;

  send(frame: Uint8Array): void {
    if (this.mute) return;
    if (this.record) this.sent.push(frame.slice());
    this.writeRaw(frameHeader(frame.length), frame);
  }

  sendParts(parts: Uint8Array[]): void {
    if (this.mute) return;
    this.writeRaw(frameHeader(parts.reduce((n, p) => n + p.length, 0)), ...parts);
  }

  writeRaw(...parts: Uint8Array[]): void {
    if (!this.socket.destroyed) for (const p of parts) this.socket.write(p);
  }

  close(reason = "closed"): void {
    this.reason ??= reason;
    this.socket.destroy();
  }

  onFrame(handler: (f: Uint8Array) => void): void {
    this.frameHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandler = handler;
  }
}

/** Connect to 127.0.0.1:port, optionally from another loopback address (127.0.0.2...). */
export function openRaw(port: number, localAddress?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) });
    s.once("error", reject);
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(new RawSocket(s, `127.0.0.1:${port}`));
    });
  });
}

/** Put an agent key straight into the master's accepted keys, as `salty keys accept` would. */
export function acceptKey(keyroot: string, id: string, publicKey: Uint8Array): void {
  const dir = join(keyroot, "agents", "accepted");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, `${id}.pub`), encodeKey(publicKey) + "\n");
}

export interface Authenticated {
  raw: RawSocket;
  link: SealedLink;
  identity: Identity;
}

/** An agent the master accepted, its session open: frames sent on `link` are sealed, `raw` writes under them. */
export async function authenticated(
  port: number,
  keyroot: string,
  id: string,
  opts: { record?: boolean } = {},
): Promise<Authenticated> {
  const identity = nacl.sign.keyPair();
  acceptKey(keyroot, id, identity.publicKey);
  const raw = await openRaw(port);
  raw.record = !!opts.record;
  const { link } = await secureClient(raw, { identity, id, kind: "agent" });
  return { raw, link, identity };
}

/** The same, speaking RPC as an agent would (no agent-side checks in the way); `roleRun` answers the master's role.run. */
export async function rogueAgent(
  port: number,
  keyroot: string,
  id: string,
  roleRun: Handlers<AgentApi>["role.run"] = () => Promise.reject(new Error("not an agent")),
): Promise<Authenticated & { rpc: Rpc<AgentApi, MasterApi> }> {
  const a = await authenticated(port, keyroot, id);
  const rpc = new Rpc<AgentApi, MasterApi>(a.link, {
    "role.run": roleRun,
    "cmd.run": () => Promise.reject(new Error("not an agent")),
    ping: () => null,
  });
  return { ...a, rpc };
}

export interface ProcStats {
  /** Resident set now and at its peak, in MiB. */
  rssMb: number;
  hwmMb: number;
  fds: number;
  threads: number;
}

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) =>
    Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);
  return {
    rssMb: Math.round(kb("VmRSS") / 102.4) / 10,
    hwmMb: Math.round(kb("VmHWM") / 102.4) / 10,
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: kb("Threads"),
  };
}

/** The job history in the keyroot (lib/history): every apply writes it, by design, so it is no evidence of an attack. */
const JOB_HISTORY = /^(history\.db(-wal|-shm|-journal)?|history-spool)$/;

/** Every entry under `dir` with its type and content hash (the job history left out): compare two snapshots to prove nothing was written. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      if (!rel && JOB_HISTORY.test(name)) continue;
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(a);
      } catch {
        continue; // gone while we looked (a temporary file renamed into place)
      }
      if (st.isSymbolicLink()) out[r] = `link:${readlinkSync(a)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        walk(a, r);
      } else if (st.isFile())
        out[r] = `file:${createHash("sha256").update(readFileSync(a)).digest("hex")}`;
      else out[r] = "other";
    }
  };
  walk(dir, "");
  return out;
}

function _hashOf(path: string): string {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return "gone";
  }
}

/** Temporary files of atomic writes (`.NAME.salty-...`) anywhere under `dir`: names only, so polling it is cheap. */
export function tempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir, { recursive: true }) as string[];
  return names.filter((p) => /(^|\/)\.[^/]*\.salty-[^/]*$/.test(p)).sort();
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

export const sha256 = (data: Uint8Array | string) =>
  createHash("sha256").update(data).digest("hex");

/** Keep the figures of a slow case in .tmp/reliability/figures.json (docs/reliability.md quotes the last run). */
export function recordFigures(name: string, figures: unknown): void {
  const dir = join(import.meta.dir, "../../.tmp/reliability");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "figures.json");
  const all = existsSync(path)
    ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>)
    : {};
  all[name] = { ...(figures as object), measured: new Date().toISOString() };
  writeFileSync(path, JSON.stringify(all, null, 2) + "\n");
}
