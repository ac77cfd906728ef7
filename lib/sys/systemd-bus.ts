// systemd's unit states without a process: one connection to its private
// socket (what systemctl itself talks to as root), ListUnitsByNames for load
// and active states, then one Properties.Get of UnitFileState per unit, all
// pipelined. The answer is written as `systemctl show -p
// Id,LoadState,ActiveState,UnitFileState` would (the operator parses one
// format). Anything unexpected (no socket, not root, an error, a timeout, a
// `systemctl` on PATH that is not the system's) is undefined: the caller asks
// systemctl.

import { realpathSync } from "node:fs";
import {
  decodeReply,
  encodeCall,
  errorText,
  messageLength,
  parseListUnits,
  parseStringVariant,
  showText,
  type Reply,
} from "./_dbus.ts";

export const SYSTEMD_PRIVATE = "/run/systemd/private";
const TIMEOUT_MS = 2_000;
/** systemd sends every signal to every connection on its private socket: an idle one is closed after this. */
const IDLE_MS = 60_000;
const SYSTEM_DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];

/** The `systemctl` a probe would run is the system's (not a test's double first in PATH). */
function systemSystemctl(): boolean {
  const found = Bun.which("systemctl");
  if (!found) return false;
  try {
    const real = realpathSync(found);
    return (
      SYSTEM_DIRS.some((d) => real === `${d}/systemctl`) ||
      /^\/(usr\/)?s?bin\/systemctl$/.test(found)
    );
  } catch {
    return false;
  }
}

/**
 * A connection to systemd, kept open across applies (systemd closes it when it
 * re-executes: the next call opens another). One exchange at a time.
 */
class Bus {
  private buf: Uint8Array = new Uint8Array(0);
  private unsent: Uint8Array = new Uint8Array(0);
  private authed = false;
  private waiter:
    | { want: number; got: Reply[]; resolve: (r: Reply[]) => void; reject: (e: Error) => void }
    | undefined;
  private sock: Bun.Socket | undefined;
  closed = false;
  serial = 0;

  static async open(path: string, uid: number): Promise<Bus> {
    const bus = new Bus();
    const ready = bus.wait(1);
    bus.sock = await Bun.connect({
      unix: path,
      socket: {
        open: (s) =>
          bus.send(
            s,
            Buffer.from(`\0AUTH EXTERNAL ${Buffer.from(String(uid)).toString("hex")}\r\n`),
          ),
        data: (s, chunk) => {
          try {
            bus.onData(s, chunk);
          } catch (err) {
            bus.fail(err as Error);
          }
        },
        drain: (s) => bus.send(s, new Uint8Array(0)),
        close: () => bus.fail(new Error("closed")),
        error: (_s, err) => bus.fail(err),
      },
    });
    // Kept between applies, it must not keep a process that is done from exiting.
    bus.sock.unref();
    await bus.timed(ready);
    return bus;
  }

  private wait(want: number): Promise<Reply[]> {
    return new Promise<Reply[]>(
      (resolve, reject) => (this.waiter = { want, got: [], resolve, reject }),
    );
  }

  private async timed<T>(p: Promise<T>): Promise<T> {
    let timer: Timer | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS)),
        ),
      ]);
    } catch (err) {
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A socket takes what it can; the rest waits for drain. */
  private send(s: Bun.Socket, data: Uint8Array): void {
    this.unsent = this.unsent.length ? Buffer.concat([this.unsent, data]) : data;
    const n = s.write(this.unsent);
    this.unsent = this.unsent.subarray(Math.max(n, 0));
  }

  private onData(s: Bun.Socket, chunk: Uint8Array): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.authed) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) return;
      const line = Buffer.from(this.buf.subarray(0, nl)).toString("latin1");
      if (!line.startsWith("OK ")) throw new Error(`auth: ${line.trim()}`);
      this.authed = true;
      this.buf = this.buf.subarray(nl + 1);
      this.send(s, Buffer.from("BEGIN\r\n"));
      this.settle();
    }
    for (;;) {
      const n = messageLength(this.buf);
      if (n === undefined || this.buf.length < n) return;
      const m = decodeReply(this.buf.subarray(0, n));
      this.buf = this.buf.subarray(n);
      if (m.type === 4) continue; // a signal: not asked for
      if (!this.waiter) throw new Error("an answer nobody asked for");
      this.waiter.got.push(m);
      if (this.waiter.got.length === this.waiter.want) this.settle();
    }
  }

  private settle(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(w.got);
  }

  private fail(err: Error): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  close(): void {
    this.closed = true;
    this.sock?.end();
  }

  /** The calls written at once; their replies, in the order they came. */
  async call(calls: Uint8Array[]): Promise<Reply[]> {
    if (this.closed || !this.sock) throw new Error("closed");
    const got = this.wait(calls.length);
    this.send(this.sock, Buffer.concat(calls));
    return await this.timed(got);
  }
}

let open: { path: string; bus: Promise<Bus> } | undefined;
let queue: Promise<unknown> = Promise.resolve();
let idle: Timer | undefined;

/** The connection kept open, else a new one (`kept`: opened by an earlier call). */
async function connection(path: string): Promise<{ bus: Bus; kept: boolean }> {
  const uid = process.getuid?.() ?? -1;
  if (uid < 0) throw new Error("no uid");
  if (open?.path === path) {
    const bus = await open.bus.catch(() => undefined);
    if (bus && !bus.closed) return { bus, kept: true };
  }
  const bus = Bus.open(path, uid);
  open = { path, bus };
  return { bus: await bus, kept: false };
}

/** `systemctl show -p Id,LoadState,ActiveState,UnitFileState -- ...units` from the bus; undefined: ask systemctl. */
export function systemdShow(
  units: string[],
  socket = SYSTEMD_PRIVATE,
  isSystemd = systemSystemctl,
): Promise<string | undefined> {
  if (units.length === 0 || !isSystemd()) return Promise.resolve(undefined);
  const next = queue.then(() => ask(units, socket));
  queue = next;
  clearTimeout(idle);
  idle = setTimeout(
    () =>
      void open?.bus.then(
        (b) => b.close(),
        () => undefined,
      ),
    IDLE_MS,
  );
  idle.unref();
  return next;
}

async function ask(units: string[], socket: string, retry = true): Promise<string | undefined> {
  let bus: Bus | undefined;
  let kept = false;
  try {
    ({ bus, kept } = await connection(socket));
    const s1 = ++bus.serial;
    const [list] = await bus.call([
      encodeCall({
        path: "/org/freedesktop/systemd1",
        iface: "org.freedesktop.systemd1.Manager",
        member: "ListUnitsByNames",
        signature: "as",
        args: [units],
        serial: s1,
      }),
    ]);
    if (list!.type !== 2 || list!.replySerial !== s1 || list!.signature !== "a(ssssssouso)")
      throw new Error(errorText(list!));
    const listed = parseListUnits(list!.body);
    const first = bus.serial + 1;
    const gets = listed.map(({ path }) =>
      encodeCall({
        path,
        iface: "org.freedesktop.DBus.Properties",
        member: "Get",
        signature: "ss",
        args: ["org.freedesktop.systemd1.Unit", "UnitFileState"],
        serial: ++bus!.serial,
      }),
    );
    const files = new Map<number, string>();
    for (const r of await bus.call(gets)) {
      if (r.type !== 2 || r.replySerial === undefined) throw new Error(errorText(r));
      files.set(r.replySerial, parseStringVariant(r.body));
    }
    if (listed.some((_, i) => !files.has(first + i))) throw new Error("an answer is missing");
    return showText(
      listed,
      listed.map((_, i) => files.get(first + i)!),
    );
  } catch {
    // Whatever went wrong, the next call starts on a new connection: at once when the kept one
    // failed (systemd may have closed it since, e.g. on daemon-reexec), else this one asks systemctl.
    bus?.close();
    return kept && retry ? await ask(units, socket, false) : undefined;
  }
}
