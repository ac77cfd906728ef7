// The client's link to the local master (lib/client/unix-link.ts, Bun's own
// socket) against the master's real listener (wire/tcp.ts listenUnix): frames
// both ways, large ones that the socket takes in parts, frames before the
// handler, closes from either side, and the same error text as connectUnix.
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connectUnixLink } from "../../lib/client/unix-link.ts";
import { connectUnix, listenUnix, type SocketLink } from "../../lib/wire/tcp.ts";
import { SaltyError } from "../../lib/errors.ts";
import { connectControl } from "../../lib/client/connect.ts";
import type { Handlers } from "../../lib/wire/rpc.ts";
import type { ClientApi } from "../../lib/wire/api.ts";
import { collect, str, text, until } from "../wire/_helpers.ts";
import { tempDir } from "../_temp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listener(onLink: (link: SocketLink) => void) {
  const scratch = tempDir("salty-unix-link-");
  cleanups.push(() => scratch[Symbol.dispose]());
  const path = join(scratch.path, "master.sock");
  const l = await listenUnix(path, onLink);
  cleanups.push(() => l.close());
  return path;
}

/** Bytes 0..250 repeating, so a frame cut, reordered or overwritten shows. */
const pattern = (n: number, seed = 0) => new Uint8Array(n).map((_, i) => (i + seed) % 251);

describe("the client's Unix socket link", () => {
  test("frames cross both ways in order, small, empty and 8 MiB (taken by the socket in parts)", async () => {
    const path = await listener((link) => link.onFrame((f) => link.send(f)));
    const link = await connectUnixLink(path);
    cleanups.push(() => link.close());
    const c = collect(link);
    const big = pattern(8 << 20, 7);
    link.send(text("one"));
    link.send(big);
    link.send(new Uint8Array(0));
    link.send(text("last"));
    expect(str(await c.next())).toBe("one");
    expect(await c.next()).toEqual(big);
    expect((await c.next()).length).toBe(0);
    expect(str(await c.next())).toBe("last");
    expect(link.peer).toBe(`unix:${path}`);
  });

  test("many frames from the master arrive whole and unchanged, kept across reads", async () => {
    const sizes = [1, 70_000, 3, 1 << 20, 11_545, 65_536, 2];
    const path = await listener((link) => sizes.forEach((n, i) => link.send(pattern(n, i))));
    const link = await connectUnixLink(path);
    cleanups.push(() => link.close());
    const c = collect(link);
    const got: Uint8Array[] = [];
    for (let i = 0; i < sizes.length; i++) got.push(await c.next());
    // Compared only at the end: a chunk the socket reused would have changed the earlier frames.
    sizes.forEach((n, i) => expect(got[i]).toEqual(pattern(n, i)));
  });

  test("frames that arrive before the handler is set wait for it", async () => {
    const path = await listener((link) => link.send(text("early")));
    const link = await connectUnixLink(path);
    cleanups.push(() => link.close());
    await Bun.sleep(50);
    expect(str(await collect(link).next())).toBe("early");
  });

  test("close() flushes what was sent, then the master sees the connection end; onClose runs once", async () => {
    const seen: Uint8Array[] = [];
    let serverClosed = "";
    const path = await listener((link) => {
      link.onFrame((f) => seen.push(f));
      link.onClose((r) => (serverClosed = r));
    });
    const link = await connectUnixLink(path);
    const reasons: string[] = [];
    link.onClose((r) => reasons.push(r));
    const big = pattern(4 << 20);
    link.send(big);
    link.close("done");
    link.send(text("after close: dropped"));
    await until(() => serverClosed !== "", 10_000, "the master's side to close");
    expect(seen.length).toBe(1);
    expect(seen[0]).toEqual(big);
    expect(serverClosed).toBe("connection closed by peer");
    await until(() => reasons.length > 0);
    await Bun.sleep(20);
    expect(reasons).toEqual(["done"]);
  });

  test("the master closing the connection closes the link with the reason wire/tcp.ts gives", async () => {
    const path = await listener((link) => link.close("bye"));
    const link = await connectUnixLink(path);
    expect(await collect(link).closed).toBe("connection closed by peer");
  });

  test("a frame announcing more than the frame limit closes the link as a protocol error", async () => {
    const path = await listener((link) =>
      (link as unknown as { socket: { write(b: Uint8Array): void } }).socket.write(
        new Uint8Array([0xff, 0xff, 0xff, 0xff]),
      ),
    );
    const link = await connectUnixLink(path);
    expect(await collect(link).closed).toMatch(
      /^protocol error: frame of 4294967295 bytes exceeds/,
    );
  });

  test("no socket there: E_CONNECT with the words of wire/tcp.ts's connectUnix", async () => {
    using scratch = tempDir("salty-unix-link-");
    for (const path of [join(scratch.path, "none.sock"), join(scratch.path, "no", "dir.sock")]) {
      const ours = await connectUnixLink(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      const theirs = await connectUnix(path).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ours).toBeInstanceOf(SaltyError);
      expect((ours as SaltyError).code).toBe("E_CONNECT");
      expect((ours as Error).message).toBe((theirs as Error).message);
      expect((ours as Error).message).toBe(`cannot connect to ${path}: connect ENOENT ${path}`);
    }
  });

  test("a master that closes the connection as it opens (a user it does not serve): connection lost, not 'is it running?'", async () => {
    using scratch = tempDir("salty-unix-link-");
    const path = join(scratch.path, "master.sock");
    // The master in a process of its own, closing every connection at once; this process is busy
    // meanwhile, so the reset is there before the open is seen (as on a loaded machine: attack-host S5).
    const server = Bun.spawn(
      [
        process.execPath,
        "-e",
        `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { open(s) { s.terminate(); }, data() {} } }); console.log("ready");`,
      ],
      { stdout: "pipe" },
    );
    cleanups.push(async () => {
      server.kill();
      await server.exited;
    });
    await server.stdout.getReader().read();
    const attempt = connectControl({ keyroot: scratch.path }, {} as Handlers<ClientApi>).then(
      () => undefined,
      (e: unknown) => e,
    );
    const busy = performance.now() + 200;
    while (performance.now() < busy) {}
    const err = await attempt;
    expect(err).toBeInstanceOf(SaltyError);
    expect((err as SaltyError).code).toBe("E_CONN_LOST");
    expect((err as Error).message).toBe(
      `connection lost: the master at ${path} closed the connection as it opened (is this user allowed on its socket? see its log)`,
    );
  });
});
