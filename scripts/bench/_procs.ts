// Real processes for the benchmark: the compiled salty binary as a master and
// agents on 127.0.0.1 (logs to files, not pipes, so nothing blocks while a
// measurement runs), timed client commands, and what /proc says of a process
// (peak and current RSS, CPU seconds). Every process started here is killed
// by PID in stopAll(). Bench-only.

import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

const started: Subprocess[] = [];
/** Stops that need more than a signal (a booted container), run by stopAll() first. */
const stoppers: Array<() => Promise<void>> = [];

export function stopAtExit(fn: () => Promise<void>): void {
  stoppers.push(fn);
}

export interface Timed {
  /** Wall seconds of the whole command, from spawn to exit. */
  wall: number;
  stdout: string;
  stderr: string;
  code: number;
  /** CPU seconds of the command itself (user + system). */
  cpu: number;
}

/** Run a command to completion and time it (the bench's own event loop is idle meanwhile). */
export function timed(
  argv: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Timed {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const wall = (performance.now() - t0) / 1000;
  const cpuUs = r.resourceUsage
    ? Number(r.resourceUsage.cpuTime.user + r.resourceUsage.cpuTime.system)
    : NaN;
  return {
    wall,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    code: r.exitCode ?? -1,
    cpu: cpuUs / 1e6,
  };
}

/** Start a daemon with its output in `log`; stopped by stopAll(). */
export function daemon(
  argv: string[],
  log: string,
  env: Record<string, string | undefined> = process.env,
): Subprocess {
  const fd = openSync(log, "a");
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: fd, stderr: fd, env });
  closeSync(fd);
  started.push(p);
  return p;
}

export async function stop(p: Subprocess): Promise<void> {
  if (p.exitCode === null) p.kill("SIGTERM");
  const t = setTimeout(() => p.exitCode === null && p.kill("SIGKILL"), 3000);
  await p.exited;
  clearTimeout(t);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled(stoppers.splice(0).map((fn) => fn()));
  await Promise.all(started.splice(0).map(stop));
}

export async function waitForLog(log: string, re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = readFileSync(log, "utf8").match(re);
    if (m) return m;
    await Bun.sleep(20);
  }
  throw new Error(
    `no line matching ${re} in ${log} within ${ms} ms:\n${readFileSync(log, "utf8").slice(-2000)}`,
  );
}

/** Seconds one thread of `pid` has been on the CPU (schedstat: nanoseconds, far finer than stat's 10 ms ticks); throws once it ended. */
export function threadSeconds(pid: number, tid: number | string): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
}

/** Seconds the threads of `pid` alive now (or its main thread alone) have been on the CPU; 0 once it ended. */
export function processSeconds(pid: number, mainOnly = false): number {
  let s = 0;
  try {
    for (const t of mainOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`))
      try {
        s += threadSeconds(pid, t);
      } catch {} // a thread that ended
  } catch {} // a process that ended
  return s;
}

/** Seconds on the CPU by thread name (/proc/PID/task/TID/comm: "HeapHelper", "JITWorker"...), for the threads alive now. */
export function threadsByName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const t of readdirSync(`/proc/${pid}/task`))
      try {
        const name =
          t === String(pid) ? "main" : readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
        out.set(name, (out.get(name) ?? 0) + threadSeconds(pid, t));
      } catch {} // a thread that ended
  } catch {} // a process that ended
  return out;
}

export interface ProcStats {
  /** kB: resident now, its anonymous (heap) and file-backed (the mapped executable, shared) parts, and the peak. */
  rss: number;
  rssAnon: number;
  rssFile: number;
  hwm: number;
  /** user + system CPU seconds so far. */
  cpu: number;
}

const CLK_TCK = 100;

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces) start after the last ")".
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  return {
    rss: kb("VmRSS"),
    rssAnon: kb("RssAnon"),
    rssFile: kb("RssFile"),
    hwm: kb("VmHWM"),
    cpu,
  };
}

/** A master and its agents on 127.0.0.1, sharing one keyroot for the master. */
export class Cluster {
  master?: Subprocess;
  port = 0;
  readonly agents = new Map<string, Subprocess>();
  readonly keyroot: string;

  constructor(
    readonly bin: string,
    readonly dir: string,
    readonly fileroot: string,
  ) {
    this.keyroot = join(dir, "keys");
    mkdirSync(this.keyroot, { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, "logs"), { recursive: true });
  }

  async startMaster(): Promise<void> {
    const log = join(this.dir, "logs", "master.log");
    this.master = daemon(
      [
        this.bin,
        "master",
        "--bind",
        "127.0.0.1:0",
        "--keyroot",
        this.keyroot,
        "--fileroot",
        this.fileroot,
        "--auto-accept",
      ],
      log,
    );
    this.port = Number((await waitForLog(log, /master\.listening bind=127\.0\.0\.1:(\d+)/))[1]);
  }

  sandbox(id: string): string {
    return join(this.dir, "sandbox", id);
  }

  /** `timing` overrides the agent's timing constants (SALTY_TIMING). */
  startAgent(id: string, timing: Record<string, number> = {}): Subprocess {
    const log = join(this.dir, "logs", `agent-${id}.log`);
    const args = [
      this.bin,
      "agent",
      `127.0.0.1:${this.port}`,
      "--id",
      id,
      "--keyroot",
      join(this.dir, "agent-keys", id),
      "--path",
      this.sandbox(id),
    ];
    const p = daemon(args, log, {
      ...process.env,
      SALTY_TIMING: JSON.stringify({ backoffMinMs: 100, backoffMaxMs: 500, ...timing }),
    });
    this.agents.set(id, p);
    return p;
  }

  async stopAgent(id: string): Promise<void> {
    const p = this.agents.get(id);
    this.agents.delete(id);
    if (p) await stop(p);
  }

  /** Connected agent ids, from `salty hosts`. */
  connected(): string[] {
    const r = timed([this.bin, "hosts", "--json", "--keyroot", this.keyroot]);
    return r.code === 0 ? Object.keys(JSON.parse(r.stdout)) : [];
  }

  async waitHosts(ids: string[], ms = 120_000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const have = new Set(this.connected());
      if (ids.every((id) => have.has(id))) return;
      await Bun.sleep(100);
    }
    throw new Error(
      `agents not connected within ${ms} ms: ${ids
        .filter((id) => !this.connected().includes(id))
        .slice(0, 5)
        .join(", ")}…`,
    );
  }

  /** `salty apply --json`, timed as a user runs it; throws unless it succeeded. */
  apply(args: string[] = []): ApplyRun {
    const r = timed([this.bin, "apply", "--json", "--keyroot", this.keyroot, ...args]);
    if (r.code !== 0)
      throw new Error(
        `salty apply ${args.join(" ")} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout.slice(0, 4000)}`,
      );
    const report = JSON.parse(r.stdout) as ApplyJson;
    const results = report.hosts.flatMap((h) => h.roles.flatMap((role) => role.results));
    return {
      wall: r.wall,
      cpu: r.cpu,
      elapsed: report.elapsed,
      ops: results.length,
      changed: results.filter((x) => x.changed).length,
      hosts: report.hosts.length,
    };
  }
}

interface ApplyJson {
  elapsed: number;
  hosts: Array<{ roles: Array<{ results: Array<{ changed: boolean }> }> }>;
}

export interface ApplyRun {
  wall: number;
  cpu: number;
  elapsed: number;
  ops: number;
  changed: number;
  hosts: number;
}
