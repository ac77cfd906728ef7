// The job history end to end (issue 18): the compiled binary as a master and
// two agents; every apply recorded in KEYROOT/history.db, `salty jobs` and
// `salty jobs show` print it back as the apply printed it, `salty hosts`
// gains each host's last apply, the master logs one line per job start and
// end, and a client interrupted with Ctrl-C says where the report will be
// while the master finishes and records the job.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";
import { Rpc } from "../../lib/wire/rpc.ts";
import { connectUnix } from "../../lib/wire/tcp.ts";
import type { ClientApi, ControlApi } from "../../lib/wire/api.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { a1: { env: "lab", roles: ["base"] }, a2: { env: "lab", roles: ["base"] } } },
};
`,
  "roles/base.ts": `export default async ({ id, me, copy, shell, print, fail, slow }) => {
  await copy("base/motd", "/etc/motd");
  if (fail === id) await shell("echo broken on purpose >&2; exit 3");
  if (slow) await copy("base/motd", "/etc/started-" + slow);
  if (slow) await shell("sleep " + slow);
  print("done on " + id);
};
`,
  "files/base/motd": "managed by salty\n",
};

let w: World;

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await Promise.all(["a1", "a2"].map((id) => w.startAgent(id)));
  await w.waitHosts(["a1", "a2"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

const k = () => ["--keyroot", w.keyroot];

/** The ids of the jobs that ended, from the master's log (job.end is logged before the client gets its report). */
const ended = () => [...w.master!.output.matchAll(/job\.end job=(\S+)/g)].map((m) => m[1]!);

/** Run a client command that makes one job; its id once the history holds it finished (written in the background). */
async function oneJob(args: string[]): Promise<{ id: string; code: number; stdout: string }> {
  const before = ended().length;
  const r = await w.salty([...args, ...k()]);
  for (const end = Date.now() + 10_000; ended().length <= before && Date.now() < end; )
    await Bun.sleep(20);
  const id = ended()[before];
  if (!id) throw new Error(`no job.end after ${args.join(" ")}; master said:\n${w.master!.output}`);
  for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(50)) {
    if (
      (await w.salty(["jobs", "show", id, ...k()])).stdout.startsWith(
        `job:${id} kind:apply status:${r.code === 0 ? "ok" : "failed"} `,
      )
    )
      break;
  }
  return { id, ...r };
}

/** The newest job's id, once the history holds `n` jobs (written in the background). */
async function jobIds(n: number): Promise<string[]> {
  const end = Date.now() + 15_000;
  let last = "";
  while (Date.now() < end) {
    const r = await w.salty(["jobs", "--json", ...k()]);
    last = r.stdout + r.stderr;
    if (r.code === 0) {
      const jobs = JSON.parse(r.stdout) as Array<{ id: string; status: string }>;
      if (jobs.length >= n && jobs.every((j) => j.status !== "running"))
        return jobs.map((j) => j.id);
    }
    await Bun.sleep(100);
  }
  throw new Error(`the history did not hold ${n} finished jobs; last answer: ${last}`);
}

test("each apply is recorded; salty jobs lists them newest first and jobs show prints each as the apply did", async () => {
  const ok = await w.salty(["apply", "--sort", "-vv", "version=v1", ...k()]);
  expect(ok.code).toBe(0);
  const bad = await w.salty(["apply", "--sort", "-vv", "fail=a2", "version=v2", ...k()]);
  expect(bad.code).toBe(1);
  const [badId, okId] = await jobIds(2);

  const table = await w.salty(["jobs", ...k()]);
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split("\n");
  expect(lines[0]).toMatch(
    /^ID\s+KIND\s+STATUS\s+HOSTS\s+FAILED\s+CHANGED\s+ELAPSED\s+STARTED\s+TARGET\s+VERSION\s+WHO$/,
  );
  expect(lines[1]).toMatch(
    new RegExp(
      `^${badId}\\s+apply\\s+failed\\s+2\\s+1\\s+\\d+\\s+[\\d.]+\\s+\\S+Z\\s+\\*\\s+v2\\s+local:\\S+$`,
    ),
  );
  expect(lines[2]).toMatch(new RegExp(`^${okId}\\s+apply\\s+ok\\s+2\\s+0\\s`));

  expect((await w.salty(["jobs", "--failed", ...k()])).stdout).not.toContain(okId!);
  expect((await w.salty(["jobs", "--failed", ...k()])).stdout).toContain(badId!);
  expect((await w.salty(["jobs", "--limit", "1", "--json", ...k()])).stdout).not.toContain(okId!);
  expect(
    JSON.parse(
      (
        await w.salty([
          "jobs",
          "--host",
          "a1",
          "--since",
          "1h",
          "--kind",
          "apply",
          "--json",
          ...k(),
        ])
      ).stdout,
    ),
  ).toHaveLength(2);

  for (const [id, run] of [
    [okId!, ok],
    [badId!, bad],
  ] as const) {
    const shown = await w.salty(["jobs", "show", id, "-vv", ...k()]);
    expect(shown.code).toBe(0);
    const [header, ...rest] = shown.stdout.split("\n");
    expect(header).toMatch(
      new RegExp(
        `^job:${id} kind:apply status:(ok|failed) started:\\S+ who:local:uid=\\d+(\\(\\S+\\))? version:v[12]$`,
      ),
    );
    expect(rest.join("\n")).toBe(run.stdout); // the report, exactly as the apply printed it
    expect(shown.stderr).toBe(run.stderr);
  }
  const master = w.master!.output;
  expect(master).toMatch(
    new RegExp(`job\\.start job=${badId} kind=apply target=\\* who=local:\\S+ version=v2`),
  );
  expect(master).toMatch(
    new RegExp(
      `job\\.end job=${badId} kind=apply target=\\* hosts=2 failed=1 changed=\\d+ elapsed=[\\d.]+ rc=1`,
    ),
  );
  expect(master).toMatch(new RegExp(`job\\.failure job=${badId} host=a2 role=base cmd=.* error=`));
  expect(existsSync(join(w.keyroot, "history.db"))).toBe(true);
}, 60_000);

test("salty hosts gains each host's last apply, and --behind lists the hosts not at a version", async () => {
  const { id: v3, code } = await oneJob(["apply", "fail=a2", "version=v3"]);
  expect(code).toBe(1);
  let hosts: Record<
    string,
    { lastApply?: { job: string; status: string; version: string; ok?: { version: string } } }
  > = {};
  for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(100)) {
    hosts = JSON.parse((await w.salty(["hosts", "--json", ...k()])).stdout);
    if (hosts.a1?.lastApply?.job === v3) break;
  }
  expect(hosts.a1?.lastApply).toMatchObject({
    job: v3,
    status: "ok",
    version: "v3",
    ok: { version: "v3" },
  });
  expect(hosts.a2?.lastApply).toMatchObject({ job: v3, status: "failed", version: "v3" });
  expect(hosts.a2?.lastApply?.ok?.version).not.toBe("v3");
  const behind = await w.salty(["hosts", "--json", "--behind", "v3", ...k()]);
  expect(behind.code).toBe(0);
  expect(Object.keys(JSON.parse(behind.stdout))).toEqual(["a2"]);
}, 60_000);

test("Ctrl-C on the client: it says which job goes on, and the master finishes and records it", async () => {
  const client = Bun.spawn([w.bin, "apply", "slow=2", "version=v4", ...k()], {
    cwd: w.dir,
    env: { ...process.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const m = await w.master!.waitFor(
      /job\.start job=(\S+) kind=apply target=\* who=\S+ version=v4/,
    );
    const id = m[1]!;
    // The client learns the id before any role is sent: once a role has begun on both hosts, it knows it.
    const started = ["a1", "a2"].map((a) => join(w.sandbox(a), "etc", "started-2"));
    for (
      const end = Date.now() + 15_000;
      !started.every((f) => existsSync(f)) && Date.now() < end;
    )
      await Bun.sleep(20);
    expect(started.every((f) => existsSync(f))).toBe(true);
    client.kill("SIGINT");
    const [stderr, code] = await Promise.all([new Response(client.stderr).text(), client.exited]);
    expect(stderr).toBe(`interrupted: job ${id} goes on; see salty jobs show ${id}\n`);
    expect(code).toBe(130);
    await w.master!.waitFor(
      new RegExp(`job\\.end job=${id} kind=apply target=\\* hosts=2 failed=0`),
      20_000,
    );
    let shown = await w.salty(["jobs", "show", id, "-v", ...k()]);
    for (
      const end = Date.now() + 10_000;
      Date.now() < end && !/status:ok/.test(shown.stdout);
      await Bun.sleep(100)
    )
      shown = await w.salty(["jobs", "show", id, "-v", ...k()]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^job:${id} kind:apply status:ok `));
    expect(shown.stdout).toMatch(
      /host:a1 elapsed:[\d.]+ errors:0 changed:\d+\n  role:base elapsed:[2-9]\./,
    );
  } finally {
    client.kill("SIGKILL");
  }
}, 60_000);

test("salty jobs follow: attached to a running job, it prints the report when the job ends; a finished job at once", async () => {
  const client = Bun.spawn([w.bin, "apply", "--sort", "-v", "slow=3", "version=v5", ...k()], {
    cwd: w.dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const id = (
      await w.master!.waitFor(/job\.start job=(\S+) kind=apply target=\* who=\S+ version=v5/)
    )[1]!;
    const follow = await w.salty(["jobs", "follow", id, "-v", ...k()]);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toMatch(
      new RegExp(
        `^job:${id} kind:apply status:ok .* version:v5\n\nhost:a1 elapsed:[3-9]\\.\\d+ errors:0 changed:\\d+\n  role:base elapsed:[3-9]\\.`,
      ),
    );
    const [applied] = await Promise.all([new Response(client.stdout).text(), client.exited]);
    expect(follow.stdout.split("\n").slice(1).join("\n")).toBe(applied); // what the applying client printed
  } finally {
    client.kill("SIGKILL");
  }
  const [done] = await jobIds(1);
  const again = await w.salty(["jobs", "follow", done!, ...k()]);
  expect(again.code).toBe(0);
  expect(again.stdout).toStartWith(`job:${done} kind:apply status:ok `);
}, 60_000);

test("who started a local job is the uid the kernel gives for the socket's peer, not the one the client claims", async () => {
  const rpc = new Rpc<ClientApi, ControlApi>(await connectUnix(join(w.keyroot, "master.sock")), {
    "apply.progress": () => null,
    "run.event": () => null,
    "apply.event": () => null,
  });
  try {
    expect(
      (
        await rpc.call(
          "apply",
          { args: ["version=lie"], dryRun: false, diff: false, user: "uid=4242(mallory)" },
          { timeoutMs: 60_000 },
        )
      ).rc,
    ).toBe(0);
  } finally {
    rpc.close();
  }
  const id = (
    await w.master!.waitFor(/job\.start job=(\S+) kind=apply target=\* who=\S+ version=lie/)
  )[0]!;
  expect(id).toContain(`who=local:uid=${process.getuid!()} `);
});

test("salty drift: a dry run that lists the hosts whose files differ from what their roles make them", async () => {
  expect((await w.salty(["apply", ...k()])).code).toBe(0);
  writeFileSync(join(w.sandbox("a1"), "etc", "motd"), "changed by hand\n");
  const drift = await w.salty(["drift", "-v", ...k()]);
  expect([drift.code, drift.stdout, drift.stderr]).toEqual([
    1,
    "a1: 1 would change\n  base: copy(base/motd, /etc/motd) (drifted since the last apply)\na2: in place\n",
    "",
  ]);
  const diff = await w.salty(["drift", "a1", "--diff", ...k()]);
  expect(diff.stdout).toContain("-changed by hand\n");
  expect(diff.stdout).toContain("+managed by salty\n");
  const json = await w.salty(["drift", "--json", ...k()]);
  expect(JSON.parse(json.stdout)).toEqual({
    hosts: {
      a1: [{ role: "base", cmd: "copy(base/motd, /etc/motd)", rc: 0, drifted: true }],
      a2: [],
    },
    unreached: [],
  });
  // With other inputs (a new argument) the same difference is not drift but a change to come.
  const other = await w.salty(["drift", "a1", "extra=1", ...k()]);
  expect(other.stdout).toBe("a1: 1 would change\n  base: copy(base/motd, /etc/motd)\n");
  const inPlace = await w.salty(["drift", "a2", ...k()]);
  expect([inPlace.code, inPlace.stdout, inPlace.stderr]).toEqual([0, "", ""]);
  expect(readFileSync(join(w.sandbox("a1"), "etc", "motd"), "utf8")).toBe("changed by hand\n"); // a dry run changes nothing
});

test("a change made with the same inputs as the role's last successful run is marked corrective; one with new inputs is not", async () => {
  expect((await w.salty(["apply", ...k()])).code).toBe(0); // the baseline: a successful run of each role
  writeFileSync(join(w.sandbox("a1"), "etc", "motd"), "someone was here\n");
  const fixed = await oneJob(["apply", "-v"]);
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toMatch(
    /^host:a1 .*\n  role:base elapsed:[\d.]+ errors:0 changed:1 corrective$/m,
  );
  expect(fixed.stdout).toMatch(/^host:a2 .*\n  role:base elapsed:[\d.]+ errors:0 changed:0$/m);
  expect((await w.salty(["jobs", "show", fixed.id, "-v", ...k()])).stdout).toContain(
    "changed:1 corrective\n",
  );

  writeFileSync(join(w.fileroot, "files", "base", "motd"), "managed by salty, new text\n");
  try {
    const intended = await w.salty(["apply", "-v", ...k()]);
    expect(intended.code).toBe(0);
    expect(intended.stdout).toMatch(/^  role:base elapsed:[\d.]+ errors:0 changed:1$/m);
    expect(intended.stdout).not.toContain("corrective");
  } finally {
    writeFileSync(join(w.fileroot, "files", "base", "motd"), "managed by salty\n");
    expect((await w.salty(["apply", ...k()])).code).toBe(0);
  }
}, 60_000);

test("bad arguments and unknown jobs: one line and a non-zero status", async () => {
  const since = await w.salty(["jobs", "--since", "2x", ...k()]);
  expect([since.code, since.stderr]).toEqual([
    2,
    `salty: --since must be a number and a unit (s, m, h, d, w), e.g. 2d; got "2x"\n`,
  ]);
  const kind = await w.salty(["jobs", "--kind", "nope", ...k()]);
  expect([kind.code, kind.stderr]).toEqual([
    2,
    "salty: jobs.list: --kind must be one of apply, run, deploy, bootstrap, scheduled, pull, not nope\n",
  ]);
  const bad = await w.salty(["jobs", "show", "nope", ...k()]);
  expect([bad.code, bad.stderr]).toEqual([
    2,
    `salty: jobs.show: "nope" is not a job id (YYYYMMDD-HHMMSS-NNNN[-TAG]; see salty jobs)\n`,
  ]);
  const missing = await w.salty(["jobs", "show", "20000101-000000-0000", ...k()]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe(
    "salty: jobs.show: no job 20000101-000000-0000 in the history (see salty jobs; jobs past --history-keep or --history-days are pruned)\n",
  );
});
