// npm run demo: the example deployment of this repo (hosts/, roles/, files/)
// applied by the compiled binary to two agents on 127.0.0.1, each writing
// under its own --path sandbox in a temp dir. Shows key acceptance, a first
// apply, a no-change apply, and where the files landed; stops every process
// it started, whatever happens.

import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const repo = resolve(import.meta.dir, "..");
const bin = join(repo, "dist", "salty");
const work = mkdtempSync(join(tmpdir(), "salty-demo-"));
const keyroot = join(work, "keys");
const procs: Subprocess[] = [];
const hosts = ["web1.salty.test", "web2.salty.test"];

function say(text: string) {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

async function salty(args: string[]): Promise<number> {
  process.stdout.write(`$ salty ${args.join(" ")}\n`);
  const p = Bun.spawn([bin, ...args, "--keyroot", keyroot], {
    cwd: repo,
    stdout: "inherit",
    stderr: "inherit",
  });
  return p.exited;
}

async function capture(args: string[]): Promise<string> {
  const p = Bun.spawn([bin, ...args, "--keyroot", keyroot], {
    cwd: repo,
    stdout: "pipe",
    stderr: "pipe",
  });
  return new Response(p.stdout).text();
}

async function until(what: string, cond: () => Promise<boolean>) {
  for (let i = 0; i < 300; i++) {
    if (await cond()) return;
    await Bun.sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function tree(dir: string, prefix = ""): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      const st = lstatSync(p);
      const what = st.isSymbolicLink()
        ? ` -> ${readlinkSync(p)}`
        : st.isDirectory()
          ? "/"
          : ` (${st.size} bytes, mode ${(st.mode & 0o777).toString(8)})`;
      const line = `${prefix}${name}${what}`;
      return st.isDirectory() ? [line, ...tree(p, prefix + "  ")] : [line];
    });
}

async function main() {
  say("building dist/salty");
  const build = Bun.spawn(["npm", "run", "--silent", "build"], {
    cwd: repo,
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await build.exited) !== 0) throw new Error("build failed");

  say(`a throw-away keyroot in ${work}`);
  mkdirSync(keyroot, { mode: 0o700 });
  // The example's NACL[...] secret and .enc file are encrypted with this public, demo-only password.
  copyFileSync(join(repo, "scripts/demo-crypto.pass"), join(keyroot, "crypto.pass"));

  const master = Bun.spawn(
    [bin, "master", "--bind", "127.0.0.1:0", "--keyroot", keyroot, "--fileroot", repo],
    { stdout: "ignore", stderr: "pipe" },
  );
  procs.push(master);
  const port = await listeningPort(master.stderr);
  say(`master on 127.0.0.1:${port}; two agents with --path sandboxes`);
  for (const id of hosts) {
    procs.push(
      Bun.spawn(
        [
          bin,
          "agent",
          `127.0.0.1:${port}`,
          "--id",
          id,
          "--keyroot",
          join(work, "agent-keys", id),
          "--path",
          join(work, "hosts", id),
        ],
        { stdout: "ignore", stderr: "ignore" },
      ),
    );
  }
  await until(
    "pending keys",
    async () => (await capture(["keys", "list"])).split("pending").length > hosts.length,
  );
  await salty(["keys", "list"]);
  await salty(["keys", "accept", "--all", "--yes"]);
  await until("agents to connect", async () => {
    const out = await capture(["hosts", "--json"]);
    return hosts.every((h) => out.includes(`"${h}"`));
  });

  say("first apply: everything is created");
  await salty(["apply", "-vv"]);
  say("second apply: nothing to do");
  await salty(["apply", "-v"]);

  say("where the files landed");
  for (const id of hosts) {
    const root = join(work, "hosts", id);
    process.stdout.write(`${root}/\n${tree(root, "  ").join("\n")}\n`);
  }
}

/** The port from the master's log; its stderr is drained to the end so the pipe never fills. */
function listeningPort(stderr: ReadableStream<Uint8Array>): Promise<number> {
  return new Promise((resolve, reject) => {
    const dec = new TextDecoder();
    let seen = "";
    let found = false;
    (async () => {
      for await (const chunk of stderr) {
        if (found) continue;
        seen += dec.decode(chunk);
        const m = /master\.listening bind=\S+:(\d+)/.exec(seen);
        if (m) (found = true), resolve(Number(m[1]));
      }
      if (!found) reject(new Error(`the master did not start:\n${seen}`));
    })();
  });
}

function cleanup() {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
}

process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

try {
  await main();
} finally {
  cleanup();
  await Promise.all(procs.map((p) => p.exited));
  rmSync(work, { recursive: true, force: true });
  say("stopped the master and the agents; removed " + work);
}
