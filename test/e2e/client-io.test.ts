// The executable's own stdout and stderr (cmd/_io.ts writes them with
// write(2), without process.stdout's streams): a terminal is told from a pipe
// (colours only on a terminal), and output larger than a pipe holds arrives
// whole and in order to a reader slower than the writer. And the reply of a
// live apply: without the roles of the hosts the client got live, when it
// says it needs none (ApplyRequest.slimLive), the job history keeping them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, world, type World } from "./_harness.ts";
import { tempDir } from "../_temp.ts";
import { connectUnixLink } from "../../lib/client/unix-link.ts";
import { quietClient } from "../../lib/client/connect.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import type { ApplyEvent, ClientApi, ControlApi, HostReport } from "../../lib/wire/api.ts";

const FIXTURES = join(REPO, "test", "fixtures", "crypto");

let w: World;

beforeAll(async () => {
  w = await world({
    files: {
      "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { t1: { env: "lab", roles: ["fails"] } } } };\n`,
      "roles/fails.ts": `export default async ({ shell }) => { await shell("exit 3"); };\n`,
    },
  });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("t1");
  await w.waitHosts(["t1"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

/** `script` (util-linux) gives the command a pseudo-terminal for stdout and stderr. */
async function onTerminal(argv: string[]): Promise<{ code: number; out: string }> {
  const line = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const p = Bun.spawn(["script", "-qec", line, "/dev/null"], {
    cwd: w.dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", TERM: "dumb" },
  });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out };
}

// util-linux's `script` makes the terminal; without it (a minimal CI image) there is none to test with.
test.skipIf(!Bun.which("script"))(
  "a failed command is red on a terminal and plain in a pipe",
  async () => {
    const args = ["apply", "--keyroot", w.keyroot];
    const tty = await onTerminal([w.bin, ...args]);
    expect(tty.code).toBe(1);
    expect(tty.out).toContain("\x1b[31m    {");
    expect(tty.out).toContain('"cmd":"shell(exit 3)"');
    const piped = await w.salty(args);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain('    {"cmd":"shell(exit 3)"');
    expect(piped.stdout + piped.stderr).not.toContain("\x1b[");
  },
);

test("1 MiB to a pipe read slowly arrives whole and in order", async () => {
  using scratch = tempDir("salty-io-");
  const enc = join(scratch.path, "f.enc");
  copyFileSync(join(FIXTURES, "file-1048593.bin.enc"), enc);
  const vectors = readFileSync(join(FIXTURES, "crypto-vectors.json"), "utf8");
  const password = /"password":\s*"([^"]*)"/.exec(vectors)![1]!;
  const env = { PATH: process.env.PATH ?? "", HOME: scratch.path, SALTY_PASSWORD: password };
  // The plaintext, written to a file by the same command.
  const toFile = Bun.spawn([w.bin, "crypto", "d", enc], { cwd: scratch.path, env });
  expect(await toFile.exited).toBe(0);
  const expected = readFileSync(join(scratch.path, "f"));
  expect(expected.length).toBe(1048593);
  // The same to stdout: the pipe (64 KiB) fills many times while the reader sleeps.
  const p = Bun.spawn([w.bin, "crypto", "d"], {
    cwd: scratch.path,
    env,
    stdin: Bun.file(enc),
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = p.stdout.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    if (chunks.length % 8 === 0) await Bun.sleep(5);
  }
  expect(await p.exited).toBe(0);
  expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  expect(await new Response(p.stderr).text()).toBe("");
});

test("a live apply's reply leaves out the roles of the hosts sent live when asked (slimLive); the job keeps them", async () => {
  for (const slim of [true, false]) {
    const live: HostReport[] = [];
    let job = "";
    const rpc = new Rpc<ClientApi, ControlApi>(
      await connectUnixLink(join(w.keyroot, "master.sock")),
      {
        ...quietClient,
        "apply.progress": (p) => ((job ||= p.job ?? ""), null),
        "apply.event": (e: ApplyEvent) => (e.type === "host_end" && live.push(e.host), null),
      },
    );
    try {
      const report = await rpc.call(
        "apply",
        {
          args: [],
          dryRun: false,
          diff: false,
          live: "hosts",
          ...(slim ? { slimLive: true } : {}),
        },
        { timeoutMs: 60_000 },
      );
      expect(live.map((h) => [h.id, h.roles.map((r) => r.role)])).toEqual([["t1", ["fails"]]]);
      const [host] = report.hosts;
      expect(host).toEqual(slim ? { ...live[0]!, roles: [] } : live[0]!);
      expect([report.rc, host!.errors, host!.status]).toEqual([1, 1, "ran"]);
    } finally {
      rpc.close();
    }
    expect(job).not.toBe("");
    const shown = await w.salty(["jobs", "show", job, "--json", "--keyroot", w.keyroot]);
    expect(shown.stdout).toContain('"cmd": "shell(exit 3)"');
  }
});
