// The worker executor: role requests go to the role worker as they arrive and
// run there one at a time, in arrival order; a role that never yields is
// stopped at its timeout and the roles queued behind it still run, in a new
// worker; closing fails what is left; file content reaches the worker intact
// (it is moved across, not cloned).
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createWorkerExecutor } from "../../lib/agent/worker-executor.ts";
import { readHead } from "../../lib/agent/role-request.ts";
import { encode } from "../../lib/wire/codec.ts";
import type { RoleCaps } from "../../lib/agent/session.ts";
import type { RunRoleRequest } from "../../lib/wire/api.ts";
import { setLogSink } from "../../lib/log.ts";
import { baseContext } from "../operators/_world.ts";
import { counters, dirSource } from "../operators/_fakes.ts";
import { tempDirs } from "../_temp.ts";

setLogSink(() => {});

const caps: RoleCaps = {
  files: {
    fetch: () => Promise.reject(new Error("no files here")),
    scan: () => Promise.reject(new Error("no files here")),
    read: () => Promise.reject(new Error("no files here")),
    readMany: () => Promise.reject(new Error("no files here")),
    scanSince: () => Promise.reject(new Error("no files here")),
  },
  serverShell: () => Promise.reject(new Error("no server shell here")),
};

const temp = tempDirs("salty-wx-");

/** A role that appends "start NAME" and, after `ms`, "end NAME" to `log`. */
function logging(name: string, log: string, ms: number, extra = ""): RunRoleRequest {
  const source = `import { appendFileSync } from "node:fs";
export default async () => {
  appendFileSync(${JSON.stringify(log)}, "start ${name}\\n");
  ${extra}
  await new Promise((r) => setTimeout(r, ${ms}));
  appendFileSync(${JSON.stringify(log)}, "end ${name}\\n");
};`;
  return {
    role: name,
    source,
    filename: `roles/${name}.ts`,
    context: { ...baseContext, role: name },
    dryRun: false,
    diff: false,
    timeoutMs: 60_000,
  };
}

function sandbox(): { prefix: string; log: string } {
  const prefix = temp();
  return { prefix, log: join(prefix, "log") };
}

describe("worker executor", () => {
  test("requests sent at once run one at a time, in arrival order", async () => {
    const { prefix, log } = sandbox();
    const execute = createWorkerExecutor({ pathPrefix: prefix });
    try {
      const reports = await Promise.all(
        [logging("one", log, 40), logging("two", log, 5), logging("three", log, 20)].map((r) =>
          execute(r, caps),
        ),
      );
      expect(reports.map((r) => [r.role, r.results.length])).toEqual([
        ["one", 0],
        ["two", 0],
        ["three", 0],
      ]);
      expect(readFileSync(log, "utf8")).toBe(
        "start one\nend one\nstart two\nend two\nstart three\nend three\n",
      );
    } finally {
      execute.close();
    }
  });

  test("a role that never yields is stopped at its timeout; the roles queued behind it run in a new worker", async () => {
    const { prefix, log } = sandbox();
    const execute = createWorkerExecutor({ pathPrefix: prefix });
    try {
      const spin = { ...logging("spin", log, 0, "while (true) {}"), timeoutMs: 100 };
      const [stuck, after] = await Promise.all([
        execute(spin, caps),
        execute(logging("after", log, 5), caps),
      ]);
      expect(stuck.results).toHaveLength(1);
      expect(stuck.results[0]).toMatchObject({ cmd: "role(spin)", rc: 1 });
      expect(stuck.results[0]!.error).toBe(
        "roles/spin.ts: timed out after 0.1s (the role did not yield; it was stopped)",
      );
      expect(after.results).toEqual([]);
      expect(readFileSync(log, "utf8")).toBe("start spin\nstart after\nend after\n");
    } finally {
      execute.close();
    }
  }, 15_000);

  test("requests that come as bytes are decoded in the worker; those behind a stuck one go to a new worker intact", async () => {
    const { prefix, log } = sandbox();
    const execute = createWorkerExecutor({ pathPrefix: prefix });
    // As the connection has them: views into a Buffer that may share its memory with other data.
    const neighbour = Buffer.from("the pool's other tenant");
    const asBytes = (r: RunRoleRequest) =>
      execute.packed!(readHead(Buffer.from(encode(r)).subarray(0)), caps);
    try {
      const spin = { ...logging("spin", log, 0, "while (true) {}"), timeoutMs: 100 };
      const reports = await Promise.all([
        asBytes(logging("first", log, 5)),
        asBytes(spin),
        asBytes(logging("after", log, 5)),
        asBytes(logging("last", log, 5)),
      ]);
      expect(reports.map((r) => [r.role, r.results.map((x) => x.error)])).toEqual([
        ["first", []],
        ["spin", ["roles/spin.ts: timed out after 0.1s (the role did not yield; it was stopped)"]],
        ["after", []],
        ["last", []],
      ]);
      expect(readFileSync(log, "utf8")).toBe(
        "start first\nend first\nstart spin\nstart after\nend after\nstart last\nend last\n",
      );
      expect(neighbour.toString()).toBe("the pool's other tenant");
    } finally {
      execute.close();
    }
  }, 15_000);

  test("closing fails the running role and those queued behind it", async () => {
    const { prefix, log } = sandbox();
    const execute = createWorkerExecutor({ pathPrefix: prefix });
    const running = [
      execute(logging("long", log, 5_000), caps),
      execute(logging("next", log, 5), caps),
    ];
    await Bun.sleep(300);
    execute.close();
    const reports = await Promise.all(running);
    expect(reports.map((r) => [r.role, r.results[0]?.error])).toEqual([
      ["long", "the agent is stopping"],
      ["next", "the agent is stopping"],
    ]);
  });
});

test("file content read through the main thread reaches the role worker intact: small files in batches, a big one in chunks", async () => {
  const { prefix } = sandbox();
  const fileroot = join(prefix, "fileroot");
  const big = new Uint8Array(9 * 1024 * 1024 + 7).map((_, i) => (i * 7919) % 251);
  mkdirSync(join(fileroot, "files/app/sub"), { recursive: true });
  writeFileSync(join(fileroot, "files/app/one.txt"), "one\n");
  writeFileSync(join(fileroot, "files/app/sub/two.txt"), "two\n".repeat(1000));
  writeFileSync(join(fileroot, "files/app/big.bin"), big);
  const n = counters();
  const source = dirSource(fileroot, n);
  const files = source;
  const execute = createWorkerExecutor({ pathPrefix: join(prefix, "dst") });
  try {
    const req: RunRoleRequest = {
      ...logging("sync", join(prefix, "log"), 0),
      source: `export default async ({ syncdir }) => { await syncdir("files/app", "/srv/app"); };`,
    };
    const report = await execute(req, { ...caps, files });
    expect(report.results.map((r) => [r.rc, r.error])).toEqual([[0, undefined]]);
    expect(readFileSync(join(prefix, "dst/srv/app/one.txt"), "utf8")).toBe("one\n");
    expect(readFileSync(join(prefix, "dst/srv/app/sub/two.txt"), "utf8")).toBe(
      "two\n".repeat(1000),
    );
    expect(
      Buffer.compare(readFileSync(join(prefix, "dst/srv/app/big.bin")), Buffer.from(big)),
    ).toBe(0);
    expect(n.read).toBeGreaterThan(3); // the big file came in chunks
  } finally {
    execute.close();
  }
});
