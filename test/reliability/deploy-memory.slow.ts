// A 1 GB artifact through `salty deploy` with flat memory on both sides (issue
// 20): the client writes the bundle to a temporary file and streams it as the
// body; the master writes the body to disk as it arrives and unpacks it in
// 1 MiB pieces. Peak RSS (VmHWM, Linux /proc) of the client and the master's
// growth stay far below the artifact's size. Run by `npm run test:reliability`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  mkdirSync,
  openSync,
  closeSync,
  ftruncateSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { world, type World } from "../e2e/_harness.ts";

const GB = 1024 ** 3;
let w: World;
let url = "";
let token = "";

const hwm = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

beforeAll(async () => {
  w = await world({
    files: {
      "hosts/index.ts": `export default { hosts: { lab: { m1: { env: "lab", roles: [] } } }, envs: { lab: {} }, clusters: { lab: {} } };\n`,
    },
  });
  token = (await w.salty(["token", "issue", "big", "--keyroot", w.keyroot])).stdout.trim();
  const m = await w.startMaster(["--http", "127.0.0.1:0", "--deploy-max-mb", "2048"]);
  url = `http://127.0.0.1:${(await m.waitFor(/master\.http bind=127\.0\.0\.1:(\d+)/))[1]}`;
}, 60_000);

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

test("a 1 GB artifact: live, with the client's peak RSS and the master's growth under 200 MB", async () => {
  const proj = join(w.dir, "proj");
  mkdirSync(join(proj, "_salty/roles"), { recursive: true });
  writeFileSync(join(proj, "_salty/top.ts"), `export default { prod: { m1: ["noop"] } };\n`);
  writeFileSync(join(proj, "_salty/roles/noop.ts"), `export default async () => {};\n`);
  // Sparse: no disk for the source, a real 1 GB stream for everything after it.
  const fd = openSync(join(proj, "big.bin"), "w");
  ftruncateSync(fd, GB);
  closeSync(fd);
  const masterBefore = hwm(w.master!.proc.pid);
  const p = Bun.spawn(
    [
      w.bin,
      "deploy",
      "big",
      "prod",
      "--no-apply",
      "--artifact",
      "big.bin",
      "--server",
      url,
      "--token",
      token,
    ],
    { cwd: proj, stdout: "pipe", stderr: "pipe" },
  );
  let clientPeak = 0;
  const timer = setInterval(() => {
    try {
      clientPeak = Math.max(clientPeak, hwm(p.pid));
    } catch {
      /* ended */
    }
  }, 50);
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearInterval(timer);
  expect(err).not.toContain("error");
  expect(out).toMatch(/release [0-9a-f]{12} live/);
  expect(code).toBe(0);
  const live = join(w.dir, "deploys/big/prod/live/_artifacts/big.bin");
  expect(statSync(live).size).toBe(GB);
  const masterGrowth = hwm(w.master!.proc.pid) - masterBefore;
  console.log(
    `client peak RSS ${(clientPeak / 2 ** 20).toFixed(0)} MB, master growth ${(masterGrowth / 2 ** 20).toFixed(0)} MB`,
  );
  expect(clientPeak).toBeGreaterThan(0);
  expect(clientPeak).toBeLessThan(200 * 2 ** 20);
  expect(masterGrowth).toBeLessThan(200 * 2 ** 20);
}, 300_000);
