// W1 with packages and services (`npm run bench -- --only w1pkg`): the W1
// deployment plus one role of 20 pkg() calls and 5 service() calls, applied
// with no change; what that role adds to a no-change apply (runs with and
// without it alternate, the median of the paired differences).
//
// Against the real thing where this machine allows it (root, systemd-nspawn):
// the agent runs as a systemd service inside a Debian root booted with
// `systemd-nspawn --boot` (_nspawn.ts), the master outside on 127.0.0.1 (the
// container shares the host's network); the 20 packages are installed ones of
// that root's dpkg database and the 5 services are units of its systemd (each
// a `sleep`, running and enabled). Elsewhere, the agent runs here: 20 packages
// of this machine's dpkg database, and the services ask the tests' recorded
// `systemctl` double first in the agent's PATH (it answers `systemctl show`
// from a table; a process per apply, as a host without systemd's socket
// would). The report says which was used. Bench-only.

import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { settle, WARM } from "./_measure.ts";
import { debianRoot, dpkgInstalled, Machine, nspawnUnavailable } from "./_nspawn.ts";
import { Cluster, stop, timed } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import type { BenchEnv } from "./_w1.ts";
import { inventory, makeW1, W1_ROLES } from "./_workloads.ts";

interface Measured {
  /** Whole `salty apply` seconds of each variant (--json): W1 alone (skip=packages), W1 and the role with its calls skipped, W1 and the whole role. */
  without: Figure;
  empty: Figure;
  with: Figure;
  /** Medians of the differences within a round, seconds: with minus without (the target), with minus empty (the calls alone). */
  delta: number;
  calls: number;
  /** The same differences of the apply's own `elapsed` (--json: no client start-up in it), seconds. */
  elapsedDelta: number;
  elapsedCalls: number;
  /** The packages role's own elapsed on the agent (its report), whole and with no calls, seconds. */
  role: Figure;
  emptyRole: Figure;
  /** CPU seconds per apply, mean: the client, the master, the agent (and what it spawned) and, in a container, its systemd. */
  cpu: Record<"without" | "empty" | "with", Cpu>;
}

export interface W1PkgResult extends Measured {
  packages: string[];
  /** Where the agent ran and what its services asked: "nspawn" (a real systemd) or "double" (why in `why`). */
  systemd: "nspawn" | "double";
  why?: string;
  /** nspawn: the agent held a connection to systemd's private socket after the runs (its services asked systemd with no process). */
  bus?: boolean;
}

const ms = (s: number) => `${(s * 1e3).toFixed(1)} ms`;

const SERVICES = ["nginx", "ssh", "cron", "redis-server", "postgresql"];

function roleOf(packages: string[]): string {
  return `import type { Role } from "salty";
export default (async ({ pkg, service, args }) => {
  if (String(args.calls) === "none") return;
${packages.map((p) => `  await pkg(${JSON.stringify(p)});`).join("\n")}
${SERVICES.map((s) => `  await service(${JSON.stringify(s)}, { running: true, enabled: true, init: "systemd" });`).join("\n")}
}) satisfies Role;
`;
}

/** W1's fileroot with the packages role added to the host's roles. */
function fileroot(dir: string, packages: string[]): string {
  const w = makeW1(dir);
  writeFileSync(join(w.fileroot, "roles/packages.ts"), roleOf(packages));
  writeFileSync(
    join(w.fileroot, "hosts/index.ts"),
    inventory("w1", [...W1_ROLES, "packages"], w.vars),
  );
  return w.fileroot;
}

interface Cpu {
  client: number;
  master: number;
  agent: number;
  system: number;
  total: number;
}

/** user + system CPU seconds of a process and of the children it waited for (the agent's probes). */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/** The three variants of a round: W1 alone (the role skipped), the role with no calls, the whole role. */
const VARIANTS = {
  without: ["skip=packages"],
  empty: ["calls=none"],
  with: [],
} as const;
type Variant = keyof typeof VARIANTS;
const ORDERS: Variant[][] = [
  ["without", "empty", "with"],
  ["with", "without", "empty"],
  ["empty", "with", "without"],
  ["with", "empty", "without"],
  ["without", "with", "empty"],
  ["empty", "without", "with"],
];

/**
 * Rounds of the three variants, alternating, so that other work on the machine
 * hits them alike; the medians of the differences within each round. CPU is
 * read from /proc around each apply (client, master, agent with its probes, and
 * `system`: the container's systemd); its ticks are 10 ms, so the CPU figures
 * are means over the rounds, not medians.
 */
async function measure(
  env: BenchEnv,
  c: Cluster,
  pids: { agent: () => number | undefined; system?: () => number | undefined },
  agentLog: string,
): Promise<Measured> {
  const run = (v: Variant) => {
    const agent = pids.agent(),
      system = pids.system?.();
    const before = [cpuOf(c.master?.pid), cpuOf(agent), cpuOf(system)] as const;
    const r = timed([env.bin, "apply", "--json", "--keyroot", c.keyroot, ...VARIANTS[v]]);
    const cpu = {
      client: r.cpu,
      master: cpuOf(c.master?.pid) - before[0],
      agent: cpuOf(agent) - before[1],
      system: cpuOf(system) - before[2],
    };
    if (r.code !== 0) throw new Error(`salty apply ${VARIANTS[v].join(" ")} failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      elapsed: number;
      hosts: Array<{ changed: number; roles: Array<{ role: string; elapsed: number }> }>;
    };
    if (report.hosts.some((h) => h.changed > 0))
      throw new Error(
        `W1 packages: a no-change apply changed something: ${existsSync(agentLog) ? readFileSync(agentLog, "utf8").slice(-2000) : r.stdout.slice(0, 2000)}`,
      );
    const role = report.hosts[0]?.roles.find((x) => x.role === "packages")?.elapsed;
    return { wall: r.wall, elapsed: report.elapsed, cpu, role };
  };
  c.apply();
  await settle();
  for (let i = 0; i < WARM; i++) for (const v of Object.keys(VARIANTS) as Variant[]) run(v);
  const wall = { without: [] as number[], empty: [] as number[], with: [] as number[] };
  const none = () => ({ client: 0, master: 0, agent: 0, system: 0, total: 0 });
  const cpu = { without: none(), empty: none(), with: none() };
  const roleMs: number[] = [],
    emptyRoleMs: number[] = [],
    delta: number[] = [],
    calls: number[] = [],
    elapsedDelta: number[] = [],
    elapsedCalls: number[] = [];
  const rounds = Math.max(env.runs * 6, 30);
  for (let i = 0; i < rounds; i++) {
    // The six orders in turn: no variant always runs after (or before) another.
    const order = ORDERS[i % ORDERS.length]!;
    const got = {} as Record<Variant, ReturnType<typeof run>>;
    for (const v of order) got[v] = run(v);
    for (const v of order) {
      wall[v].push(got[v].wall);
      for (const [k, t] of Object.entries(got[v].cpu)) {
        cpu[v][k as keyof Cpu] += t / rounds;
        cpu[v].total += t / rounds;
      }
    }
    delta.push(got.with.wall - got.without.wall), calls.push(got.with.wall - got.empty.wall);
    elapsedDelta.push(got.with.elapsed - got.without.elapsed);
    elapsedCalls.push(got.with.elapsed - got.empty.elapsed);
    if (got.with.role !== undefined) roleMs.push(got.with.role);
    if (got.empty.role !== undefined) emptyRoleMs.push(got.empty.role);
  }
  return {
    without: figure(wall.without),
    empty: figure(wall.empty),
    with: figure(wall.with),
    delta: figure(delta).median,
    calls: figure(calls).median,
    elapsedDelta: figure(elapsedDelta).median,
    elapsedCalls: figure(elapsedCalls).median,
    role: figure(roleMs),
    emptyRole: figure(emptyRoleMs),
    cpu,
  };
}

/** A stand-in service of the container: a `sleep`, started at boot (running and enabled). */
const standIn = (name: string) => `[Unit]
Description=salty bench: a stand-in for ${name}
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
`;

function enable(root: string, unit: string, text: string): void {
  const etc = join(root, "etc/systemd/system");
  mkdirSync(join(etc, "multi-user.target.wants"), { recursive: true });
  writeFileSync(join(etc, unit), text);
  symlinkSync(`/etc/systemd/system/${unit}`, join(etc, "multi-user.target.wants", unit));
}

/** The host PID of the process whose command line holds all of `words`. */
function pidOf(words: string[]): number | undefined {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (words.every((w) => argv.includes(w))) return Number(d);
    } catch {}
  }
  return undefined;
}

/**
 * Whether `pid` holds a connection to systemd's private socket (`ss -xp`: the
 * server ends are listed with the socket's path and their peer's inode).
 * Undefined when ss cannot tell.
 */
function onSystemdBus(pid: number): boolean | undefined {
  const r = Bun.spawnSync(["ss", "-xpn"], { stderr: "ignore" });
  if (r.exitCode !== 0) return undefined;
  // Netid State Recv-Q Send-Q Local Inode Peer PeerInode Process
  const rows = r.stdout
    .toString()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));
  const clients = new Set(rows.filter((f) => f[4] === "/run/systemd/private").map((f) => f[7]));
  return rows.some((f) => clients.has(f[5]) && f.slice(8).join(" ").includes(`pid=${pid},`));
}

class SetupFailed extends Error {}

async function inContainer(env: BenchEnv, dir: string): Promise<W1PkgResult> {
  let pristine: string;
  try {
    pristine = debianRoot();
  } catch (err) {
    throw new SetupFailed((err as Error).message);
  }
  const packages = dpkgInstalled(join(pristine, "var/lib/dpkg/status")).slice(0, 20);
  if (packages.length < 20)
    throw new SetupFailed(`${pristine} has ${packages.length} packages installed, not 20`);
  // The bench's files, laid over the root when it boots.
  const root = join(dir, "upper");
  for (const d of ["usr/local/bin", "etc", "var/log"])
    mkdirSync(join(root, d), { recursive: true });

  const c = new Cluster(env.bin, dir, fileroot(dir, packages));
  await c.startMaster();
  copyFileSync(env.bin, join(root, "usr/local/bin/salty"));
  chmodSync(join(root, "usr/local/bin/salty"), 0o755);
  writeFileSync(join(root, "etc/hostname"), "w1\n");
  for (const s of SERVICES) enable(root, `${s}.service`, standIn(s));
  const agentArgs = [
    "agent",
    `127.0.0.1:${c.port}`,
    "--id",
    "w1",
    "--keyroot",
    "/var/lib/salty-bench/keys",
    "--path",
    "/var/lib/salty-bench/sandbox",
  ];
  enable(
    root,
    "salty-bench-agent.service",
    `[Unit]
Description=salty agent (bench)
[Service]
ExecStart=/usr/local/bin/salty ${agentArgs.join(" ")}
StandardOutput=append:/var/log/salty-agent.log
StandardError=inherit
[Install]
WantedBy=multi-user.target
`,
  );
  const agentLog = join(root, "var/log/salty-agent.log");

  env.say(
    `W1 packages: systemd-nspawn --boot of ${pristine} (systemd, dpkg); the agent is a service of its systemd`,
  );
  const m = Machine.boot(pristine, root, join(dir, "logs", "nspawn.log"));
  try {
    const end = Date.now() + 120_000;
    while (!c.connected().includes("w1")) {
      if (m.exited || Date.now() > end)
        throw new SetupFailed(
          `the agent in the container did not connect (${m.exited ? "nspawn exited" : "120 s"}): ${readFileSync(join(dir, "logs", "nspawn.log"), "utf8").slice(-1000)}`,
        );
      await Bun.sleep(200);
    }
    const hosts = timed([env.bin, "hosts", "--json", "--keyroot", c.keyroot]).stdout;
    if (!/"init": ?"systemd"/.test(hosts))
      throw new Error(`the agent in the container does not say init systemd: ${hosts}`);
    env.say(
      `W1 packages: the W1 roles plus one of 20 pkg() and 5 service() calls, in the container (its systemd is PID ${m.init() ?? "?"} here)`,
    );
    const agent = pidOf(["/usr/local/bin/salty", "agent", `127.0.0.1:${c.port}`]);
    const figures = await measure(env, c, { agent: () => agent, system: () => m.init() }, agentLog);
    return {
      ...figures,
      packages,
      systemd: "nspawn",
      ...(agent === undefined ? {} : { bus: onSystemdBus(agent) }),
    };
  } finally {
    await m.stop();
    if (c.master) await stop(c.master);
  }
}

async function onThisMachine(
  env: BenchEnv,
  dir: string,
  why: string,
): Promise<W1PkgResult | undefined> {
  const p = Bun.spawnSync(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\n"], {
    stderr: "ignore",
  });
  if (p.exitCode !== 0)
    return void env.say(`W1 packages: skipped (no container: ${why}; no dpkg database here)`);
  const packages = p.stdout
    .toString()
    .split("\n")
    .filter((l) => l.endsWith("\tinstalled"))
    .map((l) => l.split("\t")[0]!)
    .slice(0, 20);
  env.say(
    `W1 packages: the W1 roles plus one of 20 pkg() and 5 service() calls; no container (${why}): the recorded systemctl double`,
  );
  // The tests' recorded systemctl double, answering `show` for the five services (running, enabled).
  const bin = join(dir, "fake-bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "units.txt"),
    SERVICES.map((s) => `${s}.service loaded active enabled\n`).join(""),
  );
  symlinkSync(
    join(import.meta.dir, "../../test/operators/init-output/systemctl-double.sh"),
    join(bin, "systemctl"),
  );
  process.env.SYSTEMCTL_TABLE = join(bin, "units.txt");
  const c = new Cluster(env.bin, dir, fileroot(dir, packages));
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  try {
    await c.startMaster();
    c.startAgent("w1");
    await c.waitHosts(["w1"]);
  } finally {
    process.env.PATH = path;
  }
  const figures = await measure(
    env,
    c,
    { agent: () => c.agents.get("w1")?.pid },
    join(dir, "logs", "agent-w1.log"),
  );
  await c.stopAgent("w1");
  return { ...figures, packages, systemd: "double", why };
}

export async function runW1Pkg(env: BenchEnv): Promise<W1PkgResult | undefined> {
  const dir = join(env.tmp, "w1pkg");
  let why = nspawnUnavailable();
  let result: W1PkgResult | undefined;
  if (!why) {
    try {
      result = await inContainer(env, join(dir, "nspawn"));
    } catch (err) {
      if (!(err instanceof SetupFailed)) throw err;
      why = `systemd-nspawn failed: ${err.message.trim()}`;
      env.say(`W1 packages: ${why}`);
    }
  }
  result ??= await onThisMachine(env, join(dir, "here"), why!);
  if (result)
    env.say(
      `W1 packages: no change ${ms(result.without.median)} without, ${ms(result.with.median)} with 20 packages and 5 services; the role with no calls ${ms(result.empty.median)}; differences in a round ${ms(result.delta)} (the role), ${ms(result.calls)} (its calls), ${ms(result.elapsedDelta)} and ${ms(result.elapsedCalls)} (the same, of the apply's elapsed); the packages role itself ${ms(result.role.median)} on the agent (${ms(result.emptyRole.median)} with no calls); CPU per apply (client+master+agent+system) ${[result.cpu.without, result.cpu.empty, result.cpu.with].map((x) => `${ms(x.total)} (${[x.client, x.master, x.agent, x.system].map((y) => (y * 1e3).toFixed(1)).join("+")})`).join(", ")} (${result.systemd === "nspawn" ? `a real systemd, booted with systemd-nspawn${result.bus === undefined ? "" : result.bus ? "; asked over its private socket" : "; NOT over its private socket"}` : "the recorded systemctl double"})`,
    );
  return result;
}
