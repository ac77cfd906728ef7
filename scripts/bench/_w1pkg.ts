// W1 with packages and services (`npm run bench -- --only w1pkg`): the W1
// deployment plus one role of 20 pkg() calls and 5 service() calls, applied
// with no change; what that role adds to a no-change apply. The packages are
// 20 of those installed on this machine (its real dpkg database: an apt host
// needs nothing more); the services ask the tests' recorded `systemctl` double
// first in the agent's PATH (it answers `systemctl show` from a table), since
// a machine without systemd has no real one. Bench-only.

import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settle, WARM } from "./_measure.ts";
import { Cluster, timed } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import { inventory, makeW1, W1_ROLES } from "./_workloads.ts";
import type { BenchEnv } from "./_w1.ts";

export interface W1PkgResult {
  /** Whole `salty apply` seconds: the W1 roles only (skip=packages), and with the packages role; runs alternate. */
  without: Figure;
  with: Figure;
  /** The median of the paired differences (with minus without), seconds. */
  delta: number;
  /** The packages role's own elapsed on the agent (its report), seconds. */
  role: Figure;
  packages: string[];
}

const ms = (s: number) => `${(s * 1e3).toFixed(1)} ms`;

const SERVICES = ["nginx", "ssh", "cron", "redis-server", "postgresql"];

/** The recorded systemctl double of the tests, answering `show` for these five services (running, enabled). */
function systemctlDouble(dir: string): string {
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
  return bin;
}

function installedPackages(n: number): string[] | undefined {
  const p = Bun.spawnSync(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\n"], {
    stderr: "ignore",
  });
  if (p.exitCode !== 0) return undefined;
  return p.stdout
    .toString()
    .split("\n")
    .filter((l) => l.endsWith("\tinstalled"))
    .map((l) => l.split("\t")[0]!)
    .slice(0, n);
}

export async function runW1Pkg(env: BenchEnv): Promise<W1PkgResult | undefined> {
  const dir = join(env.tmp, "w1pkg");
  const packages = installedPackages(20);
  if (!packages) return void env.say("W1 packages: skipped (no dpkg database on this machine)");
  env.say("W1 packages: the W1 roles plus one of 20 pkg() and 5 service() calls");
  const w = makeW1(dir);
  const role = `import type { Role } from "salty";
export default (async ({ pkg, service }) => {
${packages.map((p) => `  await pkg(${JSON.stringify(p)});`).join("\n")}
${SERVICES.map((s) => `  await service(${JSON.stringify(s)}, { running: true, enabled: true, init: "systemd" });`).join("\n")}
}) satisfies Role;
`;
  writeFileSync(join(w.fileroot, "roles/packages.ts"), role);
  writeFileSync(
    join(w.fileroot, "hosts/index.ts"),
    inventory("w1", [...W1_ROLES, "packages"], w.vars),
  );
  const path = process.env.PATH;
  process.env.PATH = `${systemctlDouble(dir)}:${path}`;
  const c = new Cluster(env.bin, dir, w.fileroot);
  try {
    await c.startMaster();
    c.startAgent("w1");
    await c.waitHosts(["w1"]);
  } finally {
    process.env.PATH = path;
  }
  c.apply();
  await settle();
  // Paired runs, alternating, so that other work on the machine hits both alike; the difference of each pair.
  const without: number[] = [],
    withPkg: number[] = [],
    roleMs: number[] = [],
    pairs: number[] = [];
  const run = (args: string[]) => {
    const r = timed([env.bin, "apply", "--json", "--keyroot", c.keyroot, ...args]);
    if (r.code !== 0) throw new Error(`salty apply ${args.join(" ")} failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as {
      hosts: Array<{ changed: number; roles: Array<{ role: string; elapsed: number }> }>;
    };
    if (report.hosts.some((h) => h.changed > 0))
      throw new Error(
        `W1 packages: a no-change apply changed something: ${readFileSync(join(dir, "logs", "agent-w1.log"), "utf8").slice(-2000)}`,
      );
    return {
      wall: r.wall,
      role: report.hosts[0]?.roles.find((x) => x.role === "packages")?.elapsed,
    };
  };
  for (let i = 0; i < WARM; i++) run([]), run(["skip=packages"]);
  for (let i = 0; i < Math.max(env.runs, 10); i++) {
    const a = run(["skip=packages"]);
    const b = run([]);
    without.push(a.wall), withPkg.push(b.wall), pairs.push(b.wall - a.wall);
    if (b.role !== undefined) roleMs.push(b.role);
  }
  const result: W1PkgResult = {
    without: figure(without),
    with: figure(withPkg),
    delta: figure(pairs).median,
    role: figure(roleMs),
    packages,
  };
  env.say(
    `W1 packages: no change ${ms(result.without.median)} without, ${ms(result.with.median)} with 20 packages and 5 services; paired difference ${ms(result.delta)}; the packages role itself ${ms(result.role.median)} on the agent`,
  );
  await c.stopAgent("w1");
  return result;
}
