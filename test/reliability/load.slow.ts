// Load: 500 agents simulated in this process through the real client code
// (runAgent, the real role runner and operators, each with its own --path
// sandbox) against the compiled master, with production intervals; one apply
// of a small role to all of them must complete. The master's RSS and
// descriptors and the apply times are printed and kept in
// .tmp/reliability/figures.json for docs/reliability.md.
// Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Facts } from "salty";
import { runAgent } from "../../lib/agent/reconnect.ts";
import { createExecutor } from "../../lib/agent/runner.ts";
import { timing } from "../../lib/constants.ts";
import { setLogSink } from "../../lib/log.ts";
import { world, type World } from "../e2e/_harness.ts";
import { procStats, recordFigures, until } from "./_tools.ts";
import { tempDir, type TempDir } from "../_temp.ts";

const AGENTS = 500;
/** Production intervals for the master (ping 10 s, peer timeout 30 s): the figures are not inflated by test pings. */
const PRODUCTION = JSON.stringify({});

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "sim-*": { env: "lab", roles: ["small"] } } } };\n`,
  "roles/small.ts": `export default async ({ makedirs, copy, render, lineInFile, print, id, loud }) => {
  await makedirs("/etc/app");
  await copy("small/motd", "/etc/app/motd");
  await render("small/app.conf", "/etc/app/app.conf");
  await lineInFile("managed=salty", "/etc/app/settings");
  print("configured " + id);
  if (loud) print(".".repeat(100 * 1024)); // 500 x 100 kB: more than one frame can carry to the client
};\n`,
  "files/small/motd": "managed by salty\n",
  "files/small/app.conf": "host=<%= id %>\ncluster=<%= me.cluster %>\n",
};

let w: World;
const stop = new AbortController();
let running: Promise<void>[] = [];
let scratch: TempDir | undefined;
let root = "";
const saved = { ...timing };

beforeAll(async () => {
  setLogSink(() => {});
  // Agents over the master's pending-handshake cap (32 per address: all of them come from 127.0.0.1 here) retry soon.
  Object.assign(timing, { backoffMinMs: 200, backoffMaxMs: 2000 });
  w = await world({ files, timing: PRODUCTION });
  await w.startMaster(["--auto-accept"]);
  scratch = tempDir("salty-load-");
  root = scratch.path;
});

afterAll(async () => {
  stop.abort();
  await Promise.all(running);
  Object.assign(timing, saved);
  scratch?.[Symbol.dispose]();
  await w?.[Symbol.asyncDispose]();
});

const facts = {
  kernel: "Linux",
  machine: "x86_64",
  os: { name: "Linux", version: "sim" },
  cpu_count: 1,
  mem_gb: 1,
  hostname: "sim",
  networking: { interfaces: [] },
} as unknown as Facts;

test(`${AGENTS} agents through the real client code; one apply of a small role to all of them completes`, async () => {
  const ids = Array.from({ length: AGENTS }, (_, i) => `sim-${String(i).padStart(3, "0")}`);
  const masterPid = w.master!.proc.pid;
  const idle = procStats(masterPid);
  const t0 = performance.now();
  for (const id of ids) mkdirSync(join(root, "sandbox", id), { recursive: true }); // as `salty agent --path` does
  running = ids.map((id) =>
    runAgent({
      host: "127.0.0.1",
      port: w.port,
      id,
      keyroot: join(root, "keys", id),
      signal: stop.signal,
      session: {
        gatherFacts: async () => facts,
        execute: createExecutor({ pathPrefix: join(root, "sandbox", id) }),
        version: "load",
      },
    }),
  );
  await w.waitHosts(ids, 240_000);
  const connectS = (performance.now() - t0) / 1000;
  const connected = procStats(masterPid);

  const t1 = performance.now();
  const first = await w.salty(["apply", "--keyroot", w.keyroot, "target=sim-*"]);
  const firstS = (performance.now() - t1) / 1000;
  // Off a terminal the client says how far it is every 10 s (a loaded machine gets there): nothing else.
  expect(first.stderr.replace(/^apply \d+s: .*\n/gm, "")).toBe("");
  expect(first.code).toBe(0);
  expect(first.stdout.match(/^host:sim-\d{3} elapsed:\S+ errors:0 changed:[1-9]/gm)).toHaveLength(
    AGENTS,
  );
  for (const id of ids)
    expect(readFileSync(join(root, "sandbox", id, "etc/app/app.conf"), "utf8")).toBe(
      `host=${id}\ncluster=lab\n`,
    );
  const afterFirst = procStats(masterPid);

  const t2 = performance.now();
  const second = await w.salty(["apply", "--keyroot", w.keyroot, "--json", "target=sim-*"]);
  const secondS = (performance.now() - t2) / 1000;
  expect(second.code).toBe(0);
  const report = JSON.parse(second.stdout) as {
    hosts: Array<{ changed: number; roles: Array<{ output?: string }> }>;
  };
  expect(report.hosts).toHaveLength(AGENTS);
  expect(
    report.hosts.every((h) => h.changed === 0 && h.roles[0]?.output?.startsWith("configured sim-")),
  ).toBe(true);
  const afterSecond = procStats(masterPid);

  // 500 x 100 kB of output: the report is cut to fit (lib/master/report-size.ts), not lost.
  const t3 = performance.now();
  const loud = await w.salty([
    "apply",
    "--keyroot",
    w.keyroot,
    "--json",
    "target=sim-*",
    "loud=true",
  ]);
  const loudS = (performance.now() - t3) / 1000;
  expect(loud.stderr).toBe("");
  expect(loud.code).toBe(0);
  const cut = JSON.parse(loud.stdout) as {
    hosts: Array<{ errors: number; roles: Array<{ output?: string }> }>;
  };
  expect(cut.hosts).toHaveLength(AGENTS);
  expect(
    cut.hosts.every(
      (h) =>
        h.errors === 0 &&
        /^configured sim-\d{3}\n\.+\n\[cut: an apply report keeps \d+ characters of output in all; \d+ more not shown\]$/.test(
          h.roles[0]?.output ?? "",
        ),
    ),
  ).toBe(true);
  const afterLoud = procStats(masterPid);

  const figures = {
    agents: AGENTS,
    connect_all_s: round(connectS),
    apply_first_s: round(firstS),
    apply_unchanged_s: round(secondS),
    apply_100kB_output_each_s: round(loudS),
    master_rss_mb: {
      idle: idle.rssMb,
      connected: connected.rssMb,
      after_first_apply: afterFirst.rssMb,
      after_unchanged_apply: afterSecond.rssMb,
      peak_before_output_apply: afterSecond.hwmMb,
      after_output_apply: afterLoud.rssMb,
      peak: afterLoud.hwmMb,
    },
    master_fds: { idle: idle.fds, connected: connected.fds, after_applies: afterLoud.fds },
    master_threads: afterLoud.threads,
  };
  console.log(`load figures: ${JSON.stringify(figures)}`);
  recordFigures("load", figures);
  expect(connected.fds).toBeGreaterThanOrEqual(idle.fds + AGENTS); // one socket per agent: they are all really there
  expect(afterLoud.fds).toBeLessThan(idle.fds + AGENTS + 20);
  await until(
    () => existsSync(join(root, "sandbox", ids[AGENTS - 1]!, "etc/app/settings")),
    1000,
    "the last host's files",
  );
}, 600_000);

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
