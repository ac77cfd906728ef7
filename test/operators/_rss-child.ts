// Run by rss.test.ts in its own process: syncdir a sparse file of SIZE bytes
// from a local fileroot and print {"peak": bytes, "seconds": s} — the peak
// RSS of this process, sampled while the transfer runs.

import { closeSync, ftruncateSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { callOperator } from "../../lib/operators/call.ts";
import { syncdir } from "../../lib/operators/syncdir.ts";
import { makeWorld } from "./_world.ts";

const size = Number(process.env.SIZE ?? 2 * 1024 ** 3);
using w = await makeWorld();
mkdirSync(join(w.fileroot, "files/data"), { recursive: true });
const fd = openSync(join(w.fileroot, "files/data/huge.bin"), "w");
ftruncateSync(fd, size);
closeSync(fd);
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const start = performance.now();
const r = await callOperator(w.ctx(), syncdir, ["files/data", "/srv/data"]);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
const written = statSync(join(w.prefix, "srv/data/huge.bin")).size;
console.log(
  JSON.stringify({
    peak,
    seconds: (performance.now() - start) / 1000,
    rc: r.result.rc,
    error: r.result.error,
    written,
  }),
);
