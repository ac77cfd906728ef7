// End-to-end harness: the compiled binary as separate master and agent
// processes on 127.0.0.1 (port 0), temporary keyroots and --path sandboxes.
// Every process started here is killed by PID when its world is disposed.

import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { compileArgs } from "../../scripts/_compile.ts";
import { tempDir } from "../_temp.ts";

export const REPO = resolve(import.meta.dir, "../..");

/** Short intervals so liveness and reconnection are observable in seconds. */
export const FAST_TIMING = JSON.stringify({
  pingIntervalMs: 300,
  peerTimeoutMs: 2000,
  backoffMinMs: 100,
  backoffMaxMs: 500,
  handshakeTimeoutMs: 2000,
});

let built: Promise<string> | undefined;

/** Build dist/salty once per test run (bun runs all test files in one process). */
export function binary(): Promise<string> {
  built ??= (async () => {
    const out = join(REPO, ".tmp", "test-bin", "salty");
    mkdirSync(dirname(out), { recursive: true });
    const args = compileArgs({ outfile: out, commit: "test", minify: false });
    const proc = Bun.spawn([process.execPath, ...args], {
      cwd: REPO,
      stdout: "pipe",
      stderr: "pipe",
    });
    if ((await proc.exited) !== 0)
      throw new Error(`build failed: ${await new Response(proc.stderr).text()}`);
    return out;
  })();
  return built;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class Proc {
  /** stdout and stderr as they arrived. */
  output = "";
  constructor(
    readonly proc: Subprocess<"ignore", "pipe", "pipe">,
    readonly name: string,
  ) {
    void this.drain(proc.stderr);
    void this.drain(proc.stdout);
  }

  private async drain(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    for await (const chunk of stream) this.output += dec.decode(chunk);
  }

  /** Wait for a line of its output to match. */
  async waitFor(re: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = this.output.match(re);
      if (m) return m;
      if (this.proc.exitCode !== null) break;
      await Bun.sleep(20);
    }
    throw new Error(
      `${this.name}: no output matching ${re} within ${ms} ms (exit ${this.proc.exitCode}); it said:\n${this.output}`,
    );
  }

  kill(signal: NodeJS.Signals = "SIGTERM") {
    if (this.proc.exitCode === null && !this.proc.killed) this.proc.kill(signal);
  }
}

export interface World extends AsyncDisposable {
  dir: string;
  fileroot: string;
  keyroot: string;
  bin: string;
  master?: Proc;
  port: number;
  agents: Map<string, Proc>;
  startMaster(extra?: string[]): Promise<Proc>;
  /** `as` names its keyroot and sandbox (default: the id), for two agents claiming one id. */
  startAgent(id: string, extra?: string[], as?: string): Promise<Proc>;
  /** The --path sandbox of an agent. */
  sandbox(id: string): string;
  salty(args: string[], opts?: { env?: Record<string, string>; stdin?: string }): Promise<Run>;
  waitHosts(ids: string[], ms?: number): Promise<void>;
}

/** A temp dir holding a fileroot (copied from `from`, or written from `files`) and a keyroot. */
/** `env`: more environment for every process of this world (master, agents, clients). */
export async function world(opts: {
  from?: string;
  files?: Record<string, string>;
  password?: string;
  keyrootInFileroot?: boolean;
  timing?: string;
  env?: Record<string, string>;
}): Promise<World> {
  const bin = await binary();
  const scratch = tempDir("salty-e2e-");
  const dir = scratch.path;
  const fileroot = join(dir, "fileroot");
  const keyroot = opts.keyrootInFileroot ? join(fileroot, "keys") : join(dir, "keys");
  mkdirSync(fileroot, { recursive: true });
  mkdirSync(keyroot, { recursive: true, mode: 0o700 });
  if (opts.from)
    for (const d of ["hosts", "roles", "files"])
      cpSync(join(opts.from, d), join(fileroot, d), { recursive: true });
  for (const [rel, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(fileroot, rel)), { recursive: true });
    writeFileSync(join(fileroot, rel), text);
  }
  if (opts.password) writeFileSync(join(keyroot, "crypto.pass"), opts.password, { mode: 0o600 });
  const procs: Proc[] = [];
  const env = { ...process.env, SALTY_TIMING: opts.timing ?? FAST_TIMING, ...opts.env };
  const spawn = (args: string[], name: string) => {
    const p = new Proc(
      Bun.spawn([bin, ...args], { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
      name,
    );
    procs.push(p);
    return p;
  };
  const w: World = {
    dir,
    fileroot,
    keyroot,
    bin,
    port: 0,
    agents: new Map(),
    async startMaster(extra = []) {
      const m = spawn(
        [
          "master",
          "--bind",
          `127.0.0.1:${w.port}`,
          "--keyroot",
          keyroot,
          "--fileroot",
          fileroot,
          ...extra,
        ],
        "master",
      );
      const match = await m.waitFor(/master\.listening bind=127\.0\.0\.1:(\d+)/);
      w.port = Number(match[1]);
      w.master = m;
      return m;
    },
    async startAgent(id, extra = [], as = id) {
      const a = spawn(
        [
          "agent",
          `127.0.0.1:${w.port}`,
          "--id",
          id,
          "--keyroot",
          join(dir, "agent-keys", as),
          "--path",
          w.sandbox(as),
          ...extra,
        ],
        `agent ${as}`,
      );
      w.agents.set(as, a);
      return a;
    },
    sandbox: (id) => join(dir, "sandbox", id),
    async salty(args, o = {}) {
      const p = Bun.spawn([bin, ...args], {
        cwd: dir,
        env: { ...env, ...o.env },
        stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, stderr, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { code, stdout, stderr };
    },
    async waitHosts(ids, ms = 15_000) {
      const end = Date.now() + ms;
      let last = "";
      while (Date.now() < end) {
        const r = await w.salty(["hosts", "--json", "--keyroot", keyroot]);
        last = r.stdout + r.stderr;
        if (r.code === 0) {
          const hosts = Object.keys(JSON.parse(r.stdout));
          if (ids.every((id) => hosts.includes(id))) return;
        }
        await Bun.sleep(200); // each poll starts a process: do not starve what we wait for
      }
      throw new Error(
        `hosts ${ids.join(", ")} not connected within ${ms} ms; last answer: ${last}\nmaster said:\n${w.master?.output}`,
      );
    },
    async [Symbol.asyncDispose]() {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => p.proc.exited));
      scratch[Symbol.dispose]();
    },
  };
  return w;
}
