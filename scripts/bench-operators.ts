// bun scripts/bench-operators.ts: the cost of operators that find nothing to
// do, in µs per call. "local": the FileSource is the master's FileServer
// called directly; "rpc": the same FileServer behind an Rpc over the
// in-memory link (msgpack, no sockets, no encryption).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileServer } from "../lib/master/fileserver.ts";
import { addresses } from "../lib/agent/addresses.ts";
import { AgentCache } from "../lib/operators/cache.ts";
import { createOperators } from "../lib/operators/index.ts";
import type { FileSource } from "../lib/operators/file-source.ts";
import type { Caps } from "../lib/operators/types.ts";
import { realDisk } from "../lib/sys/disk.ts";
import { realExec } from "../lib/sys/exec.ts";
import { realProbe } from "../lib/sys/probe.ts";
import { createRuntime } from "../lib/sys/runtime.ts";
import { createObserve } from "../lib/sys/observe.ts";
import { createUsers } from "../lib/sys/users.ts";
import { memoryPair } from "../lib/wire/memory.ts";
import { Rpc } from "../lib/wire/rpc.ts";
import type { FileRpc } from "../lib/wire/api.ts";
import { fileHandlers, fileStubs, type FileProtocol } from "../lib/wire/file-methods.ts";
import { timing } from "../lib/constants.ts";

const N = Number(process.env.N ?? 5000);
const root = mkdtempSync(join(tmpdir(), "salty-bench-"));
const fileroot = join(root, "fileroot"),
  prefix = join(root, "dst");
mkdirSync(join(fileroot, "files/app"), { recursive: true });
mkdirSync(prefix);
writeFileSync(join(fileroot, "files/app/mime.types"), "types { text/html html; }\n".repeat(100));
writeFileSync(
  join(fileroot, "files/app/app.conf"),
  "# <%= id %>\nport = <%= port %>\n<% for (const p of peers) { %>peer <%= p %>\n<% } %>",
);
const server = new FileServer({ fileroot, keyroot: join(root, "keys") });
const local = server.sourceFor(() => new Set());

function overRpc(files: FileProtocol): FileSource {
  const [a, b] = memoryPair();
  new Rpc<FileRpc, Record<never, never>>(a, fileHandlers(files));
  const rpc = new Rpc<Record<never, never>, FileRpc>(b, {});
  const remote = fileStubs((method, params) => rpc.call(method, params as never));
  return { fetch: remote.fetch, scan: remote.scan, read: remote.read, readMany: remote.readMany };
}

async function bench(label: string, files: FileSource): Promise<void> {
  const cache = new AgentCache();
  const caps: Caps = {
    observe: createObserve(cache.hashes),
    disk: realDisk,
    users: createUsers(),
    exec: realExec,
    probe: realProbe,
    runtime: createRuntime({ gcEveryBytes: 32 * 1024 * 1024 }),
    cache,
    files,
    dryRun: false,
    diff: false,
    pathPrefix: prefix,
  };
  const context = {
    id: "web1",
    me: { env: "dev", cluster: "lab", roles: [], vars: {} },
    role: "app",
    hosts: {},
    bootstrap: false,
    args: {},
  };
  const { operators: op } = createOperators(caps, context, { addresses: addresses(context) });
  const calls: [string, () => Promise<unknown>][] = [
    ["copy", () => op.copy("app/mime.types", "/etc/app/mime.types")],
    [
      "render",
      () =>
        op.render("app/app.conf", "/etc/app/app.conf", {
          vars: { port: 8080, peers: ["10.0.0.1", "10.0.0.2"] },
        }),
    ],
    ["makedirs", () => op.makedirs("/var/log/app", { mode: 0o750 })],
    ["lineInFile", () => op.lineInFile("vm.swappiness=10", "/etc/sysctl.conf")],
  ];
  for (const [, call] of calls) await call(); // first run: creates everything
  timing.statRacyMs = 0; // just written: trust the stat cache at once
  for (const [name, call] of calls) {
    for (let i = 0; i < 200; i++) await call(); // warm up
    const start = performance.now();
    for (let i = 0; i < N; i++) await call();
    const us = ((performance.now() - start) * 1000) / N;
    console.log(`${label.padEnd(6)} ${name.padEnd(11)} ${us.toFixed(1).padStart(7)} µs/op`);
  }
}

try {
  await bench("local", local);
  await bench("rpc", overRpc(local));
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.exit(0);
