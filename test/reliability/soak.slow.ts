// Soak: 1,000 applies in a row against 10 agents (the compiled binary, real
// processes), each apply on a new client connection as `salty apply` makes
// one, each changing a rendered file and running a command on every host.
// The master's and the agents' RSS, descriptors (/proc/PID/fd) and threads
// must not grow past a small bound after the warm-up. Figures are printed and
// kept in .tmp/reliability/figures.json. Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setLogSink } from "../../lib/log.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { connectUnix } from "../../lib/wire/tcp.ts";
import type { ClientApi, ControlApi } from "../../lib/wire/api.ts";
import { world, type World } from "../e2e/_harness.ts";
import { procStats, recordFigures, type ProcStats } from "./_tools.ts";

const APPLIES = Number(process.env.SALTY_SOAK_APPLIES ?? 1000);
const WARMUP = 100;
const IDS = Array.from({ length: 10 }, (_, i) => `s${i}`);

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "s*": { env: "lab", roles: ["soak"] } } } };\n`,
  "roles/soak.ts": `export default async ({ makedirs, copy, render, lineInFile, shell, print, n }) => {
  await makedirs("/etc/soak");
  await copy("soak/motd", "/etc/soak/motd");
  await render("soak/app.conf", "/etc/soak/app.conf");
  await lineInFile("managed=salty", "/etc/soak/settings");
  await shell("true");
  print("apply " + n);
};\n`,
  "files/soak/motd": "managed by salty\n",
  "files/soak/app.conf": "host=<%= id %>\napply=<%= n %>\n",
};

let w: World;

beforeAll(async () => {
  setLogSink(() => {});
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  for (const id of IDS) await w.startAgent(id);
  await w.waitHosts(IDS, 30_000);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

/** One apply as `salty apply` makes it: a new connection to the master's socket, closed afterwards. */
async function applyOnce(n: number): Promise<number> {
  const rpc = new Rpc<ClientApi, ControlApi>(await connectUnix(join(w.keyroot, "master.sock")), {
    "apply.progress": () => null,
    "run.event": () => null,
    "apply.event": () => null,
  });
  try {
    const report = await rpc.call(
      "apply",
      { args: ["target=s*", `n=${n}`], dryRun: false, diff: false },
      { timeoutMs: 60_000 },
    );
    if (report.hosts.length !== IDS.length)
      throw new Error(`apply ${n}: ${report.hosts.length} hosts`);
    return report.rc;
  } finally {
    rpc.close();
  }
}

type Sample = { apply: number; master: ProcStats; agents: ProcStats[] };

function sample(apply: number): Sample {
  return {
    apply,
    master: procStats(w.master!.proc.pid),
    agents: IDS.map((id) => procStats(w.agents.get(id)!.proc.pid)),
  };
}

const max = (xs: number[]) => Math.max(...xs);

test(`${APPLIES} applies in a row against ${IDS.length} agents: no growth of RSS, descriptors or threads`, async () => {
  const samples: Sample[] = [sample(0)];
  const times: number[] = [];
  let failed = 0;
  for (let n = 1; n <= APPLIES; n++) {
    const t0 = performance.now();
    if ((await applyOnce(n)) !== 0) failed++;
    times.push(performance.now() - t0);
    if (n % Math.max(100, APPLIES / 10) === 0 || n === WARMUP) samples.push(sample(n));
  }
  expect(failed).toBe(0);
  for (const id of IDS)
    expect(readFileSync(join(w.sandbox(id), "etc/soak/app.conf"), "utf8")).toBe(
      `host=${id}\napply=${APPLIES}\n`,
    );

  const warm = samples.find((s) => s.apply === WARMUP)!;
  const end = samples.at(-1)!;
  const growth = {
    master_rss_mb: round(end.master.rssMb - warm.master.rssMb),
    master_fds: end.master.fds - warm.master.fds,
    master_threads: end.master.threads - warm.master.threads,
    agent_rss_mb_max: round(max(end.agents.map((a, i) => a.rssMb - warm.agents[i]!.rssMb))),
    agent_fds_max: max(end.agents.map((a, i) => a.fds - warm.agents[i]!.fds)),
    agent_threads_max: max(end.agents.map((a, i) => a.threads - warm.agents[i]!.threads)),
  };
  const sorted = [...times].sort((a, b) => a - b);
  const figures = {
    applies: APPLIES,
    agents: IDS.length,
    apply_ms: {
      median: round(sorted[Math.floor(sorted.length / 2)]!),
      p99: round(sorted[Math.floor(sorted.length * 0.99)]!),
      total_s: round(times.reduce((a, b) => a + b, 0) / 1000),
    },
    master: samples.map((s) => ({
      apply: s.apply,
      rss_mb: s.master.rssMb,
      fds: s.master.fds,
      threads: s.master.threads,
    })),
    agent_s0: samples.map((s) => ({
      apply: s.apply,
      rss_mb: s.agents[0]!.rssMb,
      fds: s.agents[0]!.fds,
      threads: s.agents[0]!.threads,
    })),
    growth_after_warmup: growth,
  };
  console.log(`soak figures: ${JSON.stringify(figures)}`);
  recordFigures("soak", figures);
  // The bounds: no descriptor or thread may leak per apply (1,000 of them would show), and RSS may
  // move with the garbage collector but not climb with the number of applies.
  expect(growth.master_fds).toBeLessThanOrEqual(2);
  expect(growth.agent_fds_max).toBeLessThanOrEqual(2);
  expect(growth.master_threads).toBeLessThanOrEqual(2);
  expect(growth.agent_threads_max).toBeLessThanOrEqual(2);
  expect(growth.master_rss_mb).toBeLessThan(40);
  expect(growth.agent_rss_mb_max).toBeLessThan(40);
}, 900_000);

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
