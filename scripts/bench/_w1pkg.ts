// W1 with packages and services (`npm run bench -- --only w1pkg`): the W1
// deployment plus one role of 20 pkg() calls and 5 service() calls, applied
// with no change; what that role adds to a no-change apply. The packages are
// 20 of those installed on this machine (its real dpkg database: an apt host
// needs nothing more); the services ask the tests' recorded `systemctl` double
// first in the agent's PATH (it answers `systemctl show` from a table), since
// a machine without systemd has no real one. Bench-only.

import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { measure, settle, WARM, type CaseResult } from "./_measure.ts";
import { Cluster } from "./_procs.ts";
import { inventory, makeW1, W1_ROLES } from "./_workloads.ts";
import type { BenchEnv } from "./_w1.ts";

export interface W1PkgResult {
  /** The W1 roles only (skip=packages) and with the packages role, alternately measured. */
  without: CaseResult;
  with: CaseResult;
  /** Median whole-command seconds with minus without. */
  delta: number;
  packages: string[];
}

const SERVICES = ["nginx", "ssh", "cron", "redis-server", "postgresql"];

/** The recorded systemctl double of the tests, answering `show` for these five services (running, enabled). */
function systemctlDouble(dir: string): string {
  const bin = join(dir, "fake-bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "units.txt"), SERVICES.map((s) => `${s}.service loaded active enabled\n`).join(""));
  symlinkSync(join(import.meta.dir, "../../test/operators/init-output/systemctl-double.sh"), join(bin, "systemctl"));
  process.env.SYSTEMCTL_TABLE = join(bin, "units.txt");
  return bin;
}

function installedPackages(n: number): string[] | undefined {
  const p = Bun.spawnSync(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Status}\n"], { stderr: "ignore" });
  if (p.exitCode !== 0) return undefined;
  return p.stdout.toString().split("\n").filter((l) => l.endsWith("\tinstalled")).map((l) => l.split("\t")[0]!).slice(0, n);
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
  writeFileSync(join(w.fileroot, "hosts/index.ts"), inventory("w1", [...W1_ROLES, "packages"], w.vars));
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
  const base = { runs: env.runs, master: () => c.master!.pid, agents: () => [c.agents.get("w1")!.pid] };
  const without = await measure({ ...base, warmup: WARM, run: () => c.apply(["skip=packages"]) });
  const withPkg = await measure({ ...base, warmup: WARM, run: () => c.apply() });
  const r = withPkg.changed.some((n) => n > 0) ? "changed something" : "";
  if (r) throw new Error(`W1 packages: the no-change apply ${r}: ${readFileSync(join(dir, "logs", "agent-w1.log"), "utf8").slice(-2000)}`);
  const delta = withPkg.wall.median - without.wall.median;
  env.say(`W1 packages: no change ${(without.wall.median * 1e3).toFixed(1)} ms without, ${(withPkg.wall.median * 1e3).toFixed(1)} ms with 20 packages and 5 services: +${(delta * 1e3).toFixed(1)} ms (apply's own elapsed +${((withPkg.elapsed.median - without.elapsed.median) * 1e3).toFixed(1)} ms)`);
  await c.stopAgent("w1");
  return { without, with: withPkg, delta, packages };
}
