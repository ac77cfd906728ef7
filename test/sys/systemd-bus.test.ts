// service()'s unit states asked of systemd over its private socket, without a
// process. The parsers against what systemd 252 (Debian bookworm, booted by
// systemd-nspawn) answered, recorded with what `systemctl show` printed for
// the same units at the same moment; the client replayed against those
// recordings on a real Unix socket: what it writes is the recorded request, what
// it makes of the answers is systemctl's text, and anything amiss
// (a closed socket, an error, no systemd) is undefined, i.e. "ask systemctl".
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSystemdShow } from "../../lib/operators/_init-commands.ts";
import {
  decodeReply,
  encodeCall,
  messageLength,
  parseListUnits,
  parseStringVariant,
  showText,
  type Reply,
} from "../../lib/sys/_dbus.ts";
import { systemdShow } from "../../lib/sys/systemd-bus.ts";
import { tempDirs } from "../_temp.ts";

const temp = tempDirs("salty-bus-");
const dir = join(import.meta.dir, "../operators/init-output");
const bin = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const text = (name: string) => readFileSync(join(dir, name), "utf8");

/** The recorded answer stream: systemd's "OK <guid>" line, then its messages. */
function recorded(name: string): { auth: Uint8Array; messages: Uint8Array[]; replies: Reply[] } {
  const b = bin(name);
  const nl = b.indexOf(0x0a) + 1;
  const messages: Uint8Array[] = [];
  for (let at = nl; at < b.length; ) {
    const n = messageLength(b.subarray(at))!;
    messages.push(b.subarray(at, at + n));
    at += n;
  }
  return { auth: b.subarray(0, nl), messages, replies: messages.map(decodeReply) };
}

const units = (txt: string) => [...txt.matchAll(/^Id=(.*)$/gm)].map((m) => m[1]!);

describe("the D-Bus answers systemd gave, read as systemctl show prints them", () => {
  test.each(["systemd-bus-mixed", "systemd-bus-stopped", "systemd-bus-masked-alias"])(
    "%s: the same text as systemctl show, the same states",
    (name) => {
      // Signals (type 4) come to every connection of the private socket, between the answers: not read.
      const [list, ...gets] = recorded(`${name}.bin`).replies.filter((r) => r.type !== 4);
      expect(list!.type).toBe(2);
      expect(list!.signature).toBe("a(ssssssouso)");
      const listed = parseListUnits(list!.body);
      expect(gets.map((g) => g.replySerial)).toEqual(listed.map((_, i) => 2 + i));
      const got = showText(
        listed,
        gets.map((g) => parseStringVariant(g.body)),
      );
      expect(got).toBe(text(`${name}.txt`));
      expect(parseSystemdShow(got)).toEqual(parseSystemdShow(text(`${name}.txt`)));
    },
  );

  test("an alias is answered under the unit's own name, as systemctl does", () => {
    expect(units(text("systemd-bus-masked-alias.txt"))).toContain("systemd-logind.service");
  });

  test("what the client writes is the request systemd answered (recorded)", () => {
    const req = bin("systemd-bus-mixed.req.bin");
    const names = units(text("systemd-bus-mixed.txt"));
    const call = encodeCall({
      path: "/org/freedesktop/systemd1",
      iface: "org.freedesktop.systemd1.Manager",
      member: "ListUnitsByNames",
      signature: "as",
      args: [names],
      serial: 1,
    });
    const begin = Buffer.from(req).indexOf("BEGIN\r\n") + 7;
    expect(Buffer.from(req.subarray(begin, begin + call.length)).equals(Buffer.from(call))).toBe(
      true,
    );
  });

  test.each([
    ["a big-endian message", (m: Uint8Array): void => void (m[0] = 0x42)],
    [
      "a body cut short",
      (m: Uint8Array): void => new DataView(m.buffer, m.byteOffset).setUint32(4, 99999, true),
    ],
  ] as const)("%s is an error, not a guess", (_, spoil) => {
    const m = new Uint8Array(recorded("systemd-bus-stopped.bin").messages[0]!);
    spoil(m);
    expect(() => decodeReply(m)).toThrow(/D-Bus/);
  });
});

/**
 * A socket that answers as systemd did in the recording `name`, each connection
 * afresh: the OK line once AUTH is in, the list after the first call, the rest
 * after the others; `closeAfterAuth`: it hangs up instead, `closeAfterAnswer`:
 * it hangs up once it has answered (systemd re-executing between applies).
 */
function replay(name: string, opts: { closeAfterAuth?: boolean; closeAfterAnswer?: boolean } = {}) {
  const { auth, messages } = recorded(`${name}.bin`);
  const want = messages.slice(1).filter((m) => decodeReply(m).type !== 4).length;
  const path = join(temp(), "private");
  const sent: Buffer[] = [];
  let connections = 0;
  const server = Bun.listen<{ got: Uint8Array[]; step: number }>({
    unix: path,
    socket: {
      open(s) {
        s.data = { got: [], step: 0 };
        connections++;
      },
      data(s, d) {
        const st = s.data;
        st.got.push(new Uint8Array(d));
        const all = Buffer.concat(st.got);
        if (connections === 1) sent.splice(0, 1, all);
        if (st.step === 0 && all.indexOf("\r\n") > 0) {
          st.step = 1;
          if (opts.closeAfterAuth) return void s.end();
          s.write(auth);
        }
        const begin = all.indexOf("BEGIN\r\n");
        if (begin < 0) return;
        const body = all.subarray(begin + 7);
        const first = messageLength(body);
        if (first === undefined || body.length < first) return;
        if (st.step === 1) {
          st.step = 2;
          s.write(messages[0]!);
        }
        let n = 0;
        for (let at = first; at < body.length; n++) {
          const len = messageLength(body.subarray(at));
          if (len === undefined || at + len > body.length) return;
          at += len;
        }
        if (st.step === 2 && n === want) {
          st.step = 3;
          s.write(Buffer.concat(messages.slice(1)));
          if (opts.closeAfterAnswer) setTimeout(() => s.end(), 10);
        }
      },
    },
  });
  return { path, server, sent: () => sent[0] ?? Buffer.alloc(0), connections: () => connections };
}

describe("systemdShow: one connection to systemd, systemctl's text", () => {
  const servers: Array<{ stop(closeActive?: boolean): void }> = [];
  afterEach(() => servers.splice(0).forEach((s) => s.stop(true)));

  test("replayed: writes the recorded request, returns what systemctl show printed", async () => {
    const r = replay("systemd-bus-mixed");
    servers.push(r.server);
    const names = units(text("systemd-bus-mixed.txt"));
    expect(await systemdShow(names, r.path, () => true)).toBe(text("systemd-bus-mixed.txt"));
    // The handshake names this process's uid (the recording's was root's, 0); what follows is the same.
    const sent = r.sent(),
      req = Buffer.from(bin("systemd-bus-mixed.req.bin"));
    expect(sent.subarray(0, sent.indexOf("BEGIN")).toString("latin1")).toBe(
      `\0AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString("hex")}\r\n`,
    );
    expect(sent.subarray(sent.indexOf("BEGIN")).equals(req.subarray(req.indexOf("BEGIN")))).toBe(
      true,
    );
  });

  test("systemd hangs up between applies: the next call opens another connection, the same answer", async () => {
    const r = replay("systemd-bus-mixed", { closeAfterAnswer: true });
    servers.push(r.server);
    const names = units(text("systemd-bus-mixed.txt"));
    expect(await systemdShow(names, r.path, () => true)).toBe(text("systemd-bus-mixed.txt"));
    // Asked at once (the kept connection fails under it: asked again on a new one) or after the hang-up.
    expect(await systemdShow(names, r.path, () => true)).toBe(text("systemd-bus-mixed.txt"));
    expect(r.connections()).toBe(2);
  });

  test.each([
    ["no socket", () => join(temp(), "absent")],
    [
      "systemd closes the connection",
      () => {
        const r = replay("systemd-bus-mixed", { closeAfterAuth: true });
        servers.push(r.server);
        return r.path;
      },
    ],
  ] as const)("%s: undefined (ask systemctl)", async (_, path) => {
    expect(await systemdShow(["nginx.service"], path(), () => true)).toBeUndefined();
  });

  test("a systemctl on PATH that is not the system's (a test's double): not asked at all", async () => {
    const r = replay("systemd-bus-mixed");
    servers.push(r.server);
    expect(await systemdShow(["nginx.service"], r.path, () => false)).toBeUndefined();
    expect(r.sent().length).toBe(0);
  });
});
