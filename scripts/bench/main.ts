// npm run bench [-- --quick] [--only w1,w1pkg,w2,w3,adhoc,w4] [--no-ansible] [--runs N] [--tmp DIR] [--keep]:
// builds salty, generates the workloads deterministically in a temp dir, runs
// them with real master and agent processes on 127.0.0.1, measures the floor
// (and Ansible when installed) in the same run, prints a table and writes
// bench/results.json. Every process it starts is stopped and the temp dir
// removed, whatever happens. See docs/performance.md.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile, compileArgs, entry, gitCommit, workerEntries } from "../_compile.ts";
import { ansibleVersion } from "./_ansible.ts";
import { stopAll, timed } from "./_procs.ts";
import { judge, render, type Results } from "./_report.ts";
import { figure } from "./_stats.ts";
import { runW1, type BenchEnv } from "./_w1.ts";
import { runW1Pkg } from "./_w1pkg.ts";
import { runW2 } from "./_w2.ts";
import { runW3 } from "./_w3.ts";
import { runAdhoc } from "./_adhoc.ts";
import { runW4 } from "./_w4.ts";

const repo = resolve(import.meta.dir, "../..");
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: "w1,w1pkg,w2,w3,adhoc,w4" },
    "no-ansible": { type: "boolean", default: false },
    runs: { type: "string" },
    keep: { type: "boolean", default: false },
    tmp: { type: "string", default: tmpdir() },
  },
});
const quick = values.quick!;
const only = new Set(values.only!.split(","));
const runs = values.runs ? Number(values.runs) : quick ? 3 : 5;
const started = performance.now();
const say = (line: string) =>
  process.stderr.write(
    `[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
  );

async function build(out: string): Promise<{ bin: string; floorBin: string }> {
  mkdirSync(out, { recursive: true });
  const bin = join(out, "salty");
  // As `npm run build` builds it (scripts/build.ts): minified, with bytecode.
  if ((await compile({ outfile: bin, commit: await gitCommit(), bytecode: true }, true)) !== 0)
    throw new Error("building salty failed");
  const floorBin = join(out, "floor");
  // The floor program is compiled exactly like salty, so their start-up costs compare.
  const args = compileArgs({ outfile: floorBin, commit: "floor", bytecode: true })
    .filter((a) => !workerEntries.includes(a))
    .map((a) => (a === entry ? join(import.meta.dir, "floor.ts") : a));
  const p = Bun.spawnSync([process.execPath, ...args], { stdout: "ignore" });
  if (p.exitCode !== 0)
    throw new Error(`building the floor program failed: ${p.stderr.toString()}`);
  return { bin, floorBin };
}

function machine(bin: string): Record<string, unknown> {
  const fs = Bun.spawnSync(["stat", "-f", "-c", "%T", values.tmp!]).stdout.toString().trim();
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memGb: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    tmpDir: values.tmp,
    tmpFs: fs,
    /** Other work on the machine skews every figure: the load average when the bench started and ended. */
    loadStart: loadavg().map((x) => Number(x.toFixed(2))),
    bun: Bun.version,
    salty: timed([bin, "version"]).stdout.trim(),
    date: new Date().toISOString(),
  };
}

function startup(bin: string): ReturnType<typeof figure> {
  const samples: number[] = [];
  for (let i = 0; i < 3 + runs * 2; i++) {
    const r = timed([bin, "version"]);
    if (i >= 3) samples.push(r.wall);
  }
  return figure(samples);
}

async function main(tmp: string): Promise<void> {
  say("building salty and the floor program");
  const { bin, floorBin } = await build(join(repo, "bench"));
  const ansible = values["no-ansible"] ? undefined : ansibleVersion();
  if (!ansible)
    say(
      values["no-ansible"]
        ? "Ansible: skipped (--no-ansible)"
        : "Ansible: not installed (apt-get install ansible-core rsync), skipped",
    );
  const env: BenchEnv = { bin, floorBin, tmp, runs, quick, ansible: !!ansible, say };
  const res: Results = {
    machine: machine(bin),
    runs,
    quick,
    startup: startup(bin),
    ansible:
      ansible ?? (values["no-ansible"] ? "skipped (--no-ansible)" : "not installed: skipped"),
  };
  if (only.has("w1")) res.w1 = await runW1(env);
  await stopAll();
  if (only.has("w1pkg")) res.w1pkg = await runW1Pkg(env);
  await stopAll();
  if (only.has("w2")) res.w2 = await runW2(env, quick ? [10, 200] : [10, 50, 200]);
  await stopAll();
  const w3 = quick
    ? { files: 1_000, bytes: 100_000_000, big: 2, bigShare: 0.25, seed: 33 }
    : { files: 10_000, bytes: 1_000_000_000, big: 10, bigShare: 0.25, seed: 33 };
  if (only.has("w3")) res.w3 = await runW3(env, w3);
  await stopAll();
  if (only.has("adhoc")) res.adhoc = await runAdhoc(env, 200);
  await stopAll();
  // W4: 10,000 agents connected, pinged and restarted; the no-change applies up to W4_APPLY_MAX agents (default 1,000:
  // a simulated agent holds ~3 MB once it has run a role, 10,000 of them do not fit this machine's memory).
  if (only.has("w4"))
    res.w4 = await runW4(
      env,
      quick ? [1_000, 2_000] : [1_000, 10_000],
      quick ? 0 : 200,
      Number(process.env.W4_APPLY_MAX ?? 1_000),
    );
  await stopAll();
  res.machine.loadEnd = loadavg().map((x) => Number(x.toFixed(2)));
  res.targets = judge(res);
  const text = render(res);
  process.stdout.write(`\n${text}\n`);
  writeFileSync(join(repo, "bench", "results.json"), JSON.stringify(res, null, 2) + "\n");
  writeFileSync(join(repo, "bench", "results.txt"), text + "\n");
  say(`done; bench/results.json written`);
}

const tmp = mkdtempSync(join(values.tmp!, "salty-bench-"));
let status = 0;
process.on(
  "SIGINT",
  () =>
    void stopAll().then(() => (rmSync(tmp, { recursive: true, force: true }), process.exit(130))),
);
try {
  await main(tmp);
} catch (err) {
  process.stderr.write(
    `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  status = 1;
} finally {
  await stopAll();
  if (values.keep) say(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
