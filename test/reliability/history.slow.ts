// History soak (issue 18): 1,000 applies in a row, each recorded by the
// master in KEYROOT/history.db (the compiled binary, real processes), with
// --history-keep 100. The file (and its WAL) must stop growing once the
// history is full: pruning gives the pages back, and every apply stays
// recorded until it is pruned. Figures in .tmp/reliability/figures.json.
// Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { setLogSink } from "../../lib/log.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { connectUnix } from "../../lib/wire/tcp.ts";
import type { ClientApi, ControlApi } from "../../lib/wire/api.ts";
import { world, type World } from "../e2e/_harness.ts";
import { recordFigures } from "./_tools.ts";

const APPLIES = Number(process.env.SALTY_SOAK_APPLIES ?? 1000);
const KEEP = 100;
const IDS = ["h0", "h1"];

const files = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: { "h*": { env: "lab", roles: ["soak"] } } } };\n`,
  // Each report carries some 8 kB of print output per host, so that rows are not trivially small.
  "roles/soak.ts": `export default async ({ render, print, n }) => {
  await render("soak/app.conf", "/etc/soak/app.conf");
  print(("apply " + n + " ").repeat(800));
};\n`,
  "files/soak/app.conf": "host=<%= id %>\napply=<%= n %>\n",
};

let w: World;

beforeAll(async () => {
  setLogSink(() => {});
  w = await world({ files });
  await w.startMaster(["--auto-accept", "--history-keep", String(KEEP)]);
  for (const id of IDS) await w.startAgent(id);
  await w.waitHosts(IDS, 30_000);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

async function applyOnce(n: number): Promise<number> {
  const rpc = new Rpc<ClientApi, ControlApi>(await connectUnix(join(w.keyroot, "master.sock")), {
    "apply.progress": () => null,
    "run.event": () => null,
    "apply.event": () => null,
  });
  try {
    return (
      await rpc.call(
        "apply",
        { args: [`n=${n}`], dryRun: false, diff: false },
        { timeoutMs: 60_000 },
      )
    ).rc;
  } finally {
    rpc.close();
  }
}

function dbBytes(): number {
  return ["history.db", "history.db-wal", "history.db-shm"]
    .map((f) => join(w.keyroot, f))
    .filter(existsSync)
    .reduce((n, f) => n + statSync(f).size, 0);
}

test(`${APPLIES} recorded applies with --history-keep ${KEEP}: the history file stops growing`, async () => {
  const sizes: Array<{ apply: number; bytes: number }> = [];
  let failed = 0;
  for (let n = 1; n <= APPLIES; n++) {
    if ((await applyOnce(n)) !== 0) failed++;
    if (n % 100 === 0) sizes.push({ apply: n, bytes: dbBytes() });
  }
  expect(failed).toBe(0);
  const rpc = new Rpc<ClientApi, ControlApi>(await connectUnix(join(w.keyroot, "master.sock")), {
    "apply.progress": () => null,
    "run.event": () => null,
    "apply.event": () => null,
  });
  let jobs: Awaited<ReturnType<typeof rpc.call<"jobs.list">>> = [];
  try {
    for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(100)) {
      jobs = await rpc.call("jobs.list", { limit: 10_000 });
      if (
        jobs[0]?.status === "ok" &&
        (await rpc.call("jobs.show", { id: jobs[0].id })).args.includes(`n=${APPLIES}`)
      )
        break;
    }
  } finally {
    rpc.close();
  }
  // Pruned every 25 jobs: at most KEEP + 25 remain, the newest being the last apply.
  expect(jobs.length).toBeGreaterThanOrEqual(KEEP);
  expect(jobs.length).toBeLessThanOrEqual(KEEP + 25);
  const full = sizes.find((s) => s.apply === 300)!;
  const end = sizes.at(-1)!;
  const figures = { applies: APPLIES, keep: KEEP, jobs_kept: jobs.length, bytes: sizes };
  console.log(`history soak figures: ${JSON.stringify(figures)}`);
  recordFigures("history-soak", figures);
  // Once the history is full (well before apply 300), 700 more applies may not make it grow by half.
  expect(end.bytes).toBeLessThan(full.bytes * 1.5);
}, 900_000);
