import { afterEach, describe, expect, test } from "bun:test";
import net from "node:net";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { limits } from "../../lib/constants.ts";
import {
  connectTcp,
  connectUnix,
  listenTcp,
  listenUnix,
  type SocketLink,
} from "../../lib/wire/tcp.ts";
import { peerUid } from "../../lib/sys/peer-cred.ts";
import { collect, str, text, until } from "./_helpers.ts";
import { tempDir } from "../_temp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server() {
  const links: SocketLink[] = [];
  const l = await listenTcp("127.0.0.1", 0, (link) => links.push(link));
  cleanups.push(() => l.close());
  return { port: l.port, links, close: l.close };
}

async function echoServer() {
  const l = await listenTcp("127.0.0.1", 0, (link) => link.onFrame((f) => link.send(f)));
  cleanups.push(() => l.close());
  return l.port;
}

describe("tcp links", () => {
  test("frames cross both ways in order, small and 4 MiB, sent whole or in parts", async () => {
    const port = await echoServer();
    const link = await connectTcp("127.0.0.1", port);
    cleanups.push(() => link.close());
    const c = collect(link);
    const big = new Uint8Array(4 << 20).map((_, i) => i % 251);
    link.send(text("one"));
    link.sendParts([text("tw"), text("o")]);
    link.send(big);
    link.send(new Uint8Array(0));
    expect(str(await c.next())).toBe("one");
    expect(str(await c.next())).toBe("two");
    expect(await c.next()).toEqual(big);
    expect((await c.next()).length).toBe(0);
    expect(link.peer).toBe(`127.0.0.1:${port}`);
    expect(link.remoteAddress).toBe("127.0.0.1");
  });

  test("frames that arrive before the handler is set wait for it", async () => {
    const s = await server();
    const link = await connectTcp("127.0.0.1", s.port);
    cleanups.push(() => link.close());
    link.send(text("early"));
    await until(() => s.links.length === 1);
    await Bun.sleep(30);
    expect(str(await collect(s.links[0]!).next())).toBe("early");
  });

  test("a frame announcing more than the limit closes that link only; the server goes on", async () => {
    const s = await server();
    const bad = await connectTcp("127.0.0.1", s.port);
    const good = await connectTcp("127.0.0.1", s.port);
    cleanups.push(() => good.close());
    await until(() => s.links.length === 2);
    const [sb, sg] = [collect(s.links[0]!), collect(s.links[1]!)];
    s.links[0]!.setMaxFrame(10);
    const badClosed = collect(bad).closed;
    bad.send(new Uint8Array(11));
    expect(await sb.closed).toMatch(/protocol error: frame of 11 bytes exceeds the limit of 10/);
    expect(await badClosed).toBe("connection closed by peer");
    good.send(text("still here"));
    expect(str(await sg.next())).toBe("still here");
  });

  test("a throwing frame handler closes its link, not the process", async () => {
    const s = await server();
    const link = await connectTcp("127.0.0.1", s.port);
    await until(() => s.links.length === 1);
    const sl = s.links[0]!;
    const closed = new Promise<string>((r) => sl.onClose(r));
    sl.onFrame(() => {
      throw new Error("boom");
    });
    link.send(text("x"));
    expect(await closed).toBe("internal error: boom");
    expect(await collect(link).closed).toBe("connection closed by peer");
  });

  test("close() flushes what was sent, then releases the socket; onClose runs once with the reason", async () => {
    const s = await server();
    const link = await connectTcp("127.0.0.1", s.port);
    await until(() => s.links.length === 1);
    const sc = collect(s.links[0]!);
    const reasons: string[] = [];
    link.onClose((r) => reasons.push(r));
    link.send(text("last words"));
    link.close("done here");
    link.close("again");
    link.send(text("ignored after close"));
    expect(str(await sc.next())).toBe("last words");
    expect(await sc.closed).toBe("connection closed by peer");
    await Bun.sleep(10);
    expect(reasons).toEqual(["done here"]);
    await link.drained();
  });

  test("a process that closed its link exits without waiting for the peer's end (a client after its reply)", async () => {
    // The peer reads to our end and then says nothing, as a busy master may: only the linger timer would end it.
    const got: Buffer[] = [];
    let ended = false;
    const socks: net.Socket[] = [];
    const peer = net.createServer({ allowHalfOpen: true }, (sock) => {
      socks.push(sock);
      sock.on("data", (d: Buffer) => got.push(d));
      sock.on("end", () => (ended = true));
    });
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => (peer.close(r), socks.forEach((s) => s.destroy()))));
    const port = (peer.address() as net.AddressInfo).port;
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "_dial-close.ts"), String(port)],
      {
        env: { ...process.env, SALTY_TIMING: JSON.stringify({ closeLingerMs: 120_000 }) },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    cleanups.push(() => child.kill("SIGKILL"));
    await until(() => child.exitCode !== null, 30_000);
    expect(child.exitCode).toBe(0);
    await until(() => ended);
    expect(Buffer.concat(got).subarray(4).toString()).toBe("last words");
  });

  test("backpressure: drained() waits for a slow reader; a peer that never reads is dropped past maxSendBuffer", async () => {
    const s = await server();
    const link = await connectTcp("127.0.0.1", s.port);
    await until(() => s.links.length === 1);
    const chunk = new Uint8Array(1 << 20);
    const saved = limits.maxSendBuffer;
    limits.maxSendBuffer = 64 << 20;
    try {
      for (let i = 0; i < 8; i++) link.send(chunk); // the server does not read yet
      let drained = false;
      const waiting = link.drained().then(() => (drained = true));
      await Bun.sleep(20);
      expect(drained).toBe(false);
      let got = 0;
      s.links[0]!.onFrame(() => got++);
      await waiting;
      await until(() => got === 8);
      // Now a reader that stops for good: the queue grows past the cap and the link is dropped.
      link.close();
      const stuck = await connectTcp("127.0.0.1", s.port); // its server side never calls onFrame
      const sc = collect(stuck);
      for (let i = 0; i < 200 && !sc.isClosed(); i++) stuck.send(chunk);
      expect(await sc.closed).toMatch(/^peer is not reading \(\d+ bytes queued\)$/);
    } finally {
      limits.maxSendBuffer = saved;
    }
  });

  test("a dialled link can choose its source address (the bench's simulated fleets)", async () => {
    const s = await server();
    const link = await connectTcp("127.0.0.1", s.port, { localAddress: "127.0.0.7" });
    cleanups.push(() => link.close());
    await until(() => s.links.length === 1);
    expect(s.links[0]!.remoteAddress).toBe("127.0.0.7");
    expect(link.remoteAddress).toBe("127.0.0.1");
  });

  test("connecting to a closed port fails with E_CONNECT and a clear message", async () => {
    const s = await server();
    await s.close();
    const err = await connectTcp("127.0.0.1", s.port).catch((e) => e);
    expect(err.code).toBe("E_CONNECT");
    expect(err.message).toBe(
      `cannot connect to 127.0.0.1:${s.port}: connect ECONNREFUSED 127.0.0.1:${s.port}`,
    );
  });

  test("listening on a port in use fails with E_LISTEN", async () => {
    const s = await server();
    const err = await listenTcp("127.0.0.1", s.port, () => {}).catch((e) => e);
    expect(err.code).toBe("E_LISTEN");
    expect(err.message).toContain(`cannot listen on 127.0.0.1:${s.port}`);
  });

  test("frames sent in a batch (corked: one write) arrive whole and in order; the batch returns fn's value", async () => {
    const s = await server();
    const client = await connectTcp("127.0.0.1", s.port);
    cleanups.push(() => client.close());
    const c = collect(client);
    await until(() => s.links.length === 1);
    const link = s.links[0]!;
    const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
    const got = link.batch!(() => {
      link.send(text("a"));
      link.sendParts([text("b"), text("c")]);
      link.send(big);
      return 7;
    });
    expect(got).toBe(7);
    expect(str(await c.next())).toBe("a");
    expect(str(await c.next())).toBe("bc");
    expect(await c.next()).toEqual(big);
  });

  test("random garbage from a raw socket closes only that connection", async () => {
    const s = await server();
    const good = await connectTcp("127.0.0.1", s.port);
    cleanups.push(() => good.close());
    await until(() => s.links.length === 1);
    const sg = collect(s.links[0]!);
    const raw = net.connect(s.port, "127.0.0.1");
    await until(() => s.links.length === 2);
    const sr = collect(s.links[1]!);
    raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    expect(await sr.closed).toMatch(/exceeds the limit/);
    raw.destroy();
    good.send(text("ok"));
    expect(str(await sg.next())).toBe("ok");
  });
});

describe("accepted links (the master's side)", () => {
  test("IPv6: a listener on ::1 names its peers [::1]:PORT and counts them as ::1; on :: an IPv4 peer is plain", async () => {
    const links: SocketLink[] = [];
    const l6 = await listenTcp("::1", 0, (link) => links.push(link));
    cleanups.push(() => l6.close());
    const c6 = await connectTcp("::1", l6.port);
    cleanups.push(() => c6.close());
    await until(() => links.length === 1);
    expect(links[0]!.remoteAddress).toBe("::1");
    expect(links[0]!.peer).toMatch(/^\[::1\]:\d+$/);
    expect(c6.peer).toBe(`[::1]:${l6.port}`);
    expect(c6.remoteAddress).toBe("::1");
    const any = await listenTcp("::", 0, (link) => links.push(link));
    cleanups.push(() => any.close());
    const c4 = await connectTcp("127.0.0.1", any.port);
    cleanups.push(() => c4.close());
    await until(() => links.length === 2);
    expect(links[1]!.remoteAddress).toBe("127.0.0.1");
    expect(links[1]!.peer).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test("a peer that never reads what the master sends: the link is dropped past maxSendBuffer", async () => {
    const s = await server();
    const reader = await connectTcp("127.0.0.1", s.port); // never calls onFrame: reads nothing
    cleanups.push(() => reader.close());
    await until(() => s.links.length === 1);
    const link = s.links[0]!;
    const sc = collect(link);
    const chunk = new Uint8Array(1 << 20);
    const saved = limits.maxSendBuffer;
    limits.maxSendBuffer = 16 << 20;
    try {
      for (let i = 0; i < 200 && !sc.isClosed(); i++) link.send(chunk);
      expect(await sc.closed).toMatch(/^peer is not reading \(\d+ bytes queued\)$/);
    } finally {
      limits.maxSendBuffer = saved;
    }
  });

  test("a batch behind bytes the kernel has not taken yet: every frame arrives whole and in order", async () => {
    const s = await server();
    const client = await connectTcp("127.0.0.1", s.port);
    cleanups.push(() => client.close());
    await until(() => s.links.length === 1);
    const link = s.links[0]!;
    const big = new Uint8Array(16 << 20).map((_, i) => i % 253);
    link.send(big); // more than loopback's buffers take at once: the rest waits in the link's queue
    const small = Array.from({ length: 50 }, (_, i) => text(`frame ${i}`));
    link.batch(() => {
      for (const f of small.slice(0, 25)) link.send(f);
      link.sendParts([big.subarray(0, 300_000), text("tail")]);
      for (const f of small.slice(25)) link.send(f);
    });
    const c = collect(client); // the client reads only now
    expect(await c.next()).toEqual(big);
    for (const f of small.slice(0, 25)) expect(str(await c.next())).toBe(str(f));
    const joined = await c.next();
    expect(joined.length).toBe(300_004);
    expect(joined.subarray(0, 300_000)).toEqual(big.subarray(0, 300_000));
    for (const f of small.slice(25)) expect(str(await c.next())).toBe(str(f));
  });

  test("bytes of a frame still arriving refresh heardAt (keep-alive), though no frame is whole yet", async () => {
    const s = await server();
    const sock = await Bun.connect({ hostname: "127.0.0.1", port: s.port, socket: { data() {} } });
    cleanups.push(() => sock.terminate());
    await until(() => s.links.length === 1);
    const link = s.links[0]!;
    let frames = 0;
    link.onFrame(() => frames++);
    let bytes = new Uint8Array([0, 0, 1, 0, 1, 2, 3]); // a 256-byte frame's header and 3 bytes of its body
    for (let i = 0; i < 4; i++) {
      const before = performance.now();
      await Bun.sleep(2);
      sock.write(bytes);
      await until(() => link.heardAt! > before, 5000, "heardAt to move");
      bytes = new Uint8Array([i]);
    }
    expect(frames).toBe(0);
  });
});

describe("unix sockets", () => {
  function socketDir() {
    const scratch = tempDir("salty-unix-");
    const dir = scratch.path;
    cleanups.push(() => scratch[Symbol.dispose]());
    return dir;
  }

  test("frames cross; the socket file is mode 0600 and removed on close", async () => {
    const path = join(socketDir(), "m.sock");
    const l = await listenUnix(path, (link) => link.onFrame((f) => link.send(f)));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const link = await connectUnix(path);
    const c = collect(link);
    link.send(text("hello"));
    expect(str(await c.next())).toBe("hello");
    expect(link.remoteAddress).toBe("unix");
    await l.close();
    expect(await c.closed).toBe("connection closed by peer");
    expect(() => statSync(path)).toThrow();
  });

  test("admit sees each connection's own descriptor (the peer's uid from the kernel); a refusal closes it before onLink", async () => {
    const path = join(socketDir(), "m.sock");
    const uids: Array<number | undefined> = [];
    let refuse = false;
    let linked = 0;
    const l = await listenUnix(path, (link) => (linked++, link.onFrame((f) => link.send(f))), {
      admit: (fd) => {
        const peer = peerUid(fd);
        uids.push("uid" in peer ? peer.uid : undefined);
        return refuse ? "not you" : undefined;
      },
    });
    cleanups.push(() => l.close());
    const ok = await connectUnix(path);
    cleanups.push(() => ok.close());
    const c = collect(ok);
    ok.send(text("in"));
    expect(str(await c.next())).toBe("in");
    expect(uids).toEqual([process.getuid!()]);
    refuse = true;
    const no = await connectUnix(path);
    expect(await collect(no).closed).toBe("connection closed by peer");
    expect(linked).toBe(1);
    expect(uids).toEqual([process.getuid!(), process.getuid!()]);
  });

  test("a stale socket file is replaced; a live one or a regular file is an error", async () => {
    const dir = socketDir();
    const path = join(dir, "m.sock");
    // A killed master leaves its socket file behind.
    const code = `require("node:net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe" });
    await new Response(child.stdout).body!.getReader().read();
    child.kill("SIGKILL");
    await child.exited;
    expect(statSync(path).isSocket()).toBe(true);
    const l = await listenUnix(path, (link) => link.onFrame((f) => link.send(f)));
    cleanups.push(() => l.close());
    const link = await connectUnix(path);
    cleanups.push(() => link.close());
    link.send(text("fresh"));
    expect(str(await collect(link).next())).toBe("fresh");

    const liveErr = await listenUnix(path, () => {}).catch((e) => e);
    expect(liveErr.code).toBe("E_LISTEN");
    expect(liveErr.message).toBe(`cannot listen on ${path}: another process is listening there`);
    writeFileSync(join(dir, "plain"), "x");
    const fileErr = await listenUnix(join(dir, "plain"), () => {}).catch((e) => e);
    expect(fileErr.message).toBe(
      `cannot listen on ${join(dir, "plain")}: it exists and is not a socket`,
    );
  });
});
