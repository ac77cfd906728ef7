// Several masters (issue 22): the real binary, two masters on 127.0.0.1 with
// the same master key and fileroot, agents given both addresses. Without a
// database: an agent serves both at once, one master's apply holds the host
// (the other is refused, naming it), a master killed mid-apply leaves the host
// to the other, and --failover moves to the next master. With a real
// PostgreSQL server (--db on both): keys, presence and the job history shared.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FAST_TIMING, Proc, world, type World } from "../e2e/_harness.ts";
import { startPostgres, unavailable, type PgServer } from "../history/_postgres.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default { clusters: { lab: {} }, envs: { lab: {} }, hosts: { lab: Object.fromEntries(["a1", "a2", "a3", "f1", "p1"].map((id) => [id, { env: "lab", roles: ["base"] }])) } };\n`,
  "roles/base.ts": `export default async ({ copy, shell, slow }) => {
  await copy("base/motd", "/etc/motd");
  if (slow) await shell("sleep " + slow);
};
`,
  "files/base/motd": "managed by salty\n",
};

/** Two masters of one world: m1 is the harness's, m2 another process with its own keyroot holding m1's master key. */
export class Masters {
  readonly keys2: string;
  m2?: Proc;
  port2 = 0;
  readonly procs: Proc[] = [];
  constructor(
    readonly w: World,
    readonly timing = FAST_TIMING,
  ) {
    this.keys2 = join(w.dir, "keys2");
  }

  spawn(args: string[], name: string): Proc {
    const p = new Proc(
      Bun.spawn([this.w.bin, ...args], {
        cwd: this.w.dir,
        env: { ...process.env, SALTY_TIMING: this.timing },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      }),
      name,
    );
    this.procs.push(p);
    return p;
  }

  async start(extra: string[], extra2 = extra): Promise<void> {
    await this.w.startMaster(extra);
    mkdirSync(this.keys2, { recursive: true, mode: 0o700 });
    for (const f of ["master.key", "master.pub"])
      copyFileSync(join(this.w.keyroot, f), join(this.keys2, f));
    this.m2 = this.spawn(
      [
        "master",
        "--bind",
        "127.0.0.1:0",
        "--keyroot",
        this.keys2,
        "--fileroot",
        this.w.fileroot,
        ...extra2,
      ],
      "m2",
    );
    this.port2 = Number((await this.m2.waitFor(/master\.listening bind=127\.0\.0\.1:(\d+)/))[1]);
  }

  get both(): string {
    return `127.0.0.1:${this.w.port},127.0.0.1:${this.port2}`;
  }

  agent(id: string, masters: string, extra: string[] = []): Proc {
    return this.spawn(
      [
        "agent",
        masters,
        "--id",
        id,
        "--keyroot",
        join(this.w.dir, "agent-keys", id),
        "--path",
        this.w.sandbox(id),
        ...extra,
      ],
      `agent ${id}`,
    );
  }

  /** The ids connected to the master of this keyroot. */
  async hosts(keyroot: string): Promise<string[]> {
    const r = await this.w.salty(["hosts", "--json", "--keyroot", keyroot]);
    return r.code === 0 ? Object.keys(JSON.parse(r.stdout)).sort() : [];
  }

  async dispose(): Promise<void> {
    for (const p of this.procs) p.kill("SIGKILL");
    await Promise.all(this.procs.map((p) => p.proc.exited));
    await this.w[Symbol.asyncDispose]();
  }
}

export async function until(
  what: string,
  fn: () => Promise<boolean> | boolean,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (
    !(await Promise.resolve()
      .then(fn)
      .catch(() => false))
  ) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(100);
  }
}

const motd = (w: World, id: string) => join(w.sandbox(id), "etc", "motd");

describe("an agent given two masters, no database", () => {
  let ms: Masters;
  let w: World;
  beforeAll(async () => {
    w = await world({ files });
    ms = new Masters(w);
    await ms.start(["--auto-accept"]);
    for (const id of ["a1", "a2", "a3"]) ms.agent(id, ms.both);
    ms.agent("f1", ms.both, ["--failover"]);
    await until(
      "a1-a3 on both masters and f1 on m1",
      async () =>
        (await ms.hosts(w.keyroot)).join() === "a1,a2,a3,f1" &&
        (await ms.hosts(ms.keys2)).join() === "a1,a2,a3",
    );
  });
  afterAll(async () => {
    await ms?.dispose();
  });

  test("a master listed twice, and --failover with one master, are usage errors", async () => {
    const twice = await w.salty([
      "agent",
      "127.0.0.1:1,127.0.0.1:1",
      "--keyroot",
      join(w.dir, "unused"),
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("MASTER lists a master twice: 127.0.0.1:1,127.0.0.1:1");
    const one = await w.salty([
      "agent",
      "127.0.0.1:1",
      "--failover",
      "--keyroot",
      join(w.dir, "unused"),
    ]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain("--failover needs several masters");
  });

  test("either master applies; while m1's apply holds a host, m2's is refused naming m1", async () => {
    const m2 = ["--keyroot", ms.keys2];
    expect((await w.salty(["apply", "target=a*", ...m2])).code).toBe(0);
    rmSync(motd(w, "a1"));
    const first = w.salty(["apply", "target=a1", "slow=3", "--keyroot", w.keyroot]);
    await until("m1's apply started on a1", () => existsSync(motd(w, "a1")));
    const second = await w.salty(["apply", "target=a1", ...m2]);
    expect(second.code).toBe(1);
    expect(second.stdout + second.stderr).toContain(
      `this host is applying roles for another master (127.0.0.1:${w.port}); apply again when that apply ends`,
    );
    expect((await first).code).toBe(0);
    expect((await w.salty(["apply", "target=a1", ...m2])).code).toBe(0);
  });

  test("m1 killed during an apply: the rest goes through m2, and the --failover agent moves to m2", async () => {
    for (const id of ["a1", "a2", "a3"]) rmSync(motd(w, id), { force: true });
    const killed = w.salty(["apply", "target=a*", "slow=3", "--keyroot", w.keyroot]);
    await until("m1's apply started on a1-a3", () =>
      ["a1", "a2", "a3"].every((id) => existsSync(motd(w, id))),
    );
    w.master!.kill("SIGKILL");
    expect((await killed).code).not.toBe(0);
    const after = await w.salty(["apply", "target=a*", "--keyroot", ms.keys2]);
    expect(after.stdout + after.stderr).not.toContain("another master");
    expect(after.code).toBe(0);
    await until("f1 on m2", async () => (await ms.hosts(ms.keys2)).includes("f1"));
    expect((await w.salty(["apply", "target=f1", "--keyroot", ms.keys2])).code).toBe(0);
    const f1 = w.agents.get("f1") ?? ms.procs.find((p) => p.name === "agent f1")!;
    expect(f1.output).toMatch(/agent\.failover id=f1 from=127\.0\.0\.1:\d+ to=127\.0\.0\.1:\d+/);
  });
});

const noPg = unavailable();
if (noPg) console.warn(`multi-master on PostgreSQL skipped: ${noPg}`);

describe.skipIf(Boolean(noPg))("two masters sharing a real PostgreSQL server (--db)", () => {
  let ms: Masters;
  let w: World;
  let pg: PgServer;
  beforeAll(async () => {
    pg = await startPostgres();
    // Sessions re-checked every 500 ms: a key rejected on one master reaches the other's sessions by this re-check alone.
    const timing = JSON.stringify({ ...JSON.parse(FAST_TIMING), keysRecheckMs: 500 });
    w = await world({ files, timing });
    ms = new Masters(w, timing);
    await ms.start(
      ["--db", pg.url, "--name", "m1", "--http", "127.0.0.1:0"],
      ["--db", pg.url, "--name", "m2", "--http", "127.0.0.1:0"],
    );
    for (const id of ["a1", "a2", "a3"]) ms.agent(id, ms.both);
    ms.agent("p1", `127.0.0.1:${ms.port2}`);
  });
  afterAll(async () => {
    await ms?.dispose();
    await pg?.[Symbol.asyncDispose]();
  });

  test("keys accepted on m1 are honoured by m2 at the agents' next try; salty keys --db works from anywhere", async () => {
    await until("a1-a3 and p1 pending in the shared database", async () => {
      const r = await w.salty(["keys", "list", "--keyroot", w.keyroot]);
      return ["a1", "a2", "a3", "p1"].every((id) =>
        new RegExp(`^${id} +agent +pending`, "m").test(r.stdout),
      );
    });
    for (const id of ["a1", "a2", "a3"])
      expect((await w.salty(["keys", "accept", id, "--keyroot", w.keyroot])).code).toBe(0);
    const other = join(w.dir, "elsewhere");
    mkdirSync(other);
    const p1 = await w.salty(["keys", "accept", "p1", "--db", pg.url, "--keyroot", other]);
    expect(p1.stdout).toMatch(/^accepted agent p1 \S+ \(was pending\)$/m);
    await until("a1-a3 on m1", async () => (await ms.hosts(w.keyroot)).join() === "a1,a2,a3");
    await until(
      "a1-a3 and p1 on m2",
      async () => (await ms.hosts(ms.keys2)).join() === "a1,a2,a3,p1",
    );
    expect(existsSync(join(w.keyroot, "agents", "accepted", "a1.pub"))).toBe(false); // in the database, not in files
  });

  test("an apply on m1 for a host connected only to m2 says where it is", async () => {
    const r = await w.salty(["apply", "target=p1", "--keyroot", w.keyroot]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("host:p1 ...host missing (connected to m2)...");
    const ping = await w.salty(["ping", "p1", "--keyroot", w.keyroot]);
    expect(ping.stdout + ping.stderr).toMatch(/p1 +not connected here \(connected to m2\)/);
  });

  test("a deploy token issued on m1's keyroot and revoked on m2's is refused by m1", async () => {
    const http1 = Number((await w.master!.waitFor(/master\.http bind=127\.0\.0\.1:(\d+)/))[1]);
    const issued = await w.salty(["token", "issue", "web", "--keyroot", w.keyroot]);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    const id = /^salty_([0-9a-f]{12})_/.exec(token)![1]!;
    const ask = () =>
      fetch(`http://127.0.0.1:${http1}/v1/releases/web`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.status);
    expect(await ask()).not.toBe(401);
    expect((await w.salty(["token", "revoke", id, "--keyroot", ms.keys2])).code).toBe(0);
    expect(await ask()).toBe(401);
  });

  test("m1 killed during a rollout: the rest goes through m2, and the history shows both masters' jobs", async () => {
    for (const id of ["a1", "a2", "a3"]) rmSync(motd(w, id), { force: true });
    const killed = w.salty(["apply", "target=a*", "batch=1", "slow=3", "--keyroot", w.keyroot]);
    await until("m1's rollout started its first batch", () =>
      ["a1", "a2", "a3"].some((id) => existsSync(motd(w, id))),
    );
    const m1Jobs = [...w.master!.output.matchAll(/job\.start job=(\S+)/g)].map((m) => m[1]!);
    const killedId = m1Jobs[1]!;
    const running = async () =>
      (
        JSON.parse((await w.salty(["jobs", "--json", "--keyroot", ms.keys2])).stdout) as Array<{
          id: string;
          status: string;
        }>
      ).find((j) => j.id === killedId)?.status;
    // Its start reaches the shared history within timing.historyFlushMs: killed before, no master could know of it.
    await until("m1's rollout in the shared history", async () => (await running()) === "running");
    w.master!.kill("SIGKILL");
    expect((await killed).code).not.toBe(0);
    expect(["a1", "a2", "a3"].filter((id) => existsSync(motd(w, id))).length).toBe(1); // one batch of three began
    const after = await w.salty(["apply", "target=a*", "batch=1", "--keyroot", ms.keys2]);
    expect(after.code).toBe(0);
    for (const id of ["a1", "a2", "a3"]) expect(existsSync(motd(w, id))).toBe(true);
    const m2Jobs = [...ms.m2!.output.matchAll(/job\.end job=(\S+)/g)].map((m) => m[1]!);
    expect(m1Jobs.length).toBe(2);
    expect(m2Jobs.length).toBe(1);
    const list = await w.salty(["jobs", "--json", "--keyroot", ms.keys2]);
    expect(list.code).toBe(0);
    const ids = (JSON.parse(list.stdout) as Array<{ id: string }>).map((j) => j.id);
    for (const id of [...m1Jobs, ...m2Jobs]) expect(ids).toContain(id);
    // m1 back (the same host and keyroot: the same job-id tag): its own job cut short is failed, saying why.
    expect(await running()).toBe("running");
    await w.startMaster(["--db", pg.url, "--name", "m1", "--http", "127.0.0.1:0"]);
    await until(
      "m1's killed job failed at its next start",
      async () => (await running()) === "failed",
    );
    const shown = await w.salty(["jobs", "show", killedId, "--keyroot", ms.keys2]);
    expect(shown.stdout + shown.stderr).toContain("the master stopped before the job ended");
  });

  test("a key rejected on m2 is refused by m1 too, and m1 cuts its live session", async () => {
    await until("a3 on m1 again", async () => (await ms.hosts(w.keyroot)).includes("a3"));
    expect((await w.salty(["keys", "reject", "a3", "--keyroot", ms.keys2])).code).toBe(0);
    await w.master!.waitFor(/keys\.session_cut id=a3 kind=agent/);
    await until(
      "a3 gone from both masters",
      async () =>
        !(await ms.hosts(w.keyroot)).includes("a3") && !(await ms.hosts(ms.keys2)).includes("a3"),
    );
    const a3 = ms.procs.find((p) => p.name === "agent a3")!;
    await a3.waitFor(/E_KEY_REJECTED|is rejected/);
  });
});
