// salty ping, salty run and salty targets end to end (issue 17): the compiled
// binary as a master and agents on 127.0.0.1. a1 and a2 are in the inventory;
// ro runs with --no-remote-exec; ghost is in the inventory and never
// connects; x9 is connected and not in the inventory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { world, type World } from "./_harness.ts";
import { readFileSync } from "node:fs";
import { deriveKey, encryptString } from "../../lib/crypto/secrets.ts";
import { ADDED_MARK, RUNTIME_ENV } from "../../lib/runtime-env.ts";

const PASSWORD = "adhoc-password-0123456789abcdef0123456789";
const key = deriveKey(PASSWORD);

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {}, edge: {} },
  envs: { lab: {}, prod: {} },
  hosts: {
    lab: {
      a1: { env: "lab", roles: ["base"], vars: { tier: "web", token: "${encryptString("tok-a1-s3cret-value", key)}" } },
      a2: { env: "lab", roles: ["base", "db"], vars: { tier: "db" } },
      ro: { env: "prod", roles: ["base"] },
    },
    edge: { ghost: { env: "prod", roles: ["base"] } },
  },
};
`,
  "roles/base.ts": `export default async () => {};\n`,
  "roles/db.ts": `export default async () => {};\n`,
};

let w: World;
const k = () => ["--keyroot", w.keyroot];

beforeAll(async () => {
  w = await world({ files, password: PASSWORD });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1");
  await w.startAgent("a2");
  await w.startAgent("ro", ["--no-remote-exec"]);
  await w.startAgent("x9");
  await w.waitHosts(["a1", "a2", "ro", "x9"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

describe("salty targets", () => {
  test.each([
    ["a*", ["a1", "a2"]],
    ["a1,ro", ["a1", "ro"]],
    ["role:db", ["a2"]],
    ["env:prod", ["ro", "ghost"]],
    ["cluster:lab and not env:prod", ["a1", "a2"]],
    ["var:tier=web or var:tier=db", ["a1", "a2"]],
    ["fact:kernel=Linux and cluster:lab", ["a1", "a2", "ro"]],
    ["(role:base and not role:db) and cluster:lab", ["a1", "ro"]],
  ])("%p selects %p", async (expr, ids) => {
    const r = await w.salty(["targets", expr, "--json", ...k()]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(
      (JSON.parse(r.stdout) as { hosts: Array<{ id: string }> }).hosts.map((h) => h.id),
    ).toEqual(ids);
  });

  test("prints one host per line, saying which are not connected, and the strangers it matches", async () => {
    const r = await w.salty(["targets", "ghost or x9 or a1", ...k()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^a1 +cluster:lab env:lab\n/m);
    expect(r.stdout).toMatch(/^ghost +cluster:edge env:prod  \(not connected\)$/m);
    expect(r.stdout).toMatch(
      /^x9 +\(connected, not in the inventory: apply and run leave it out\)$/m,
    );
  });

  test.each([
    ["nothing", "web*", /^salty: no host matched target=web\*/],
    [
      "a parse error",
      "a1 and",
      /^salty: target "a1 and": expected a host glob or NAME: after "and"\n$/,
    ],
    [
      "an unknown role",
      "role:nginx",
      /^salty: target=role:nginx: no host of the inventory has role nginx \(known: base, db\)\n$/,
    ],
  ])("%s is exit 2 with one line", async (_what, expr, message) => {
    const r = await w.salty(["targets", expr, ...k()]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(message);
  });
});

describe("salty ping", () => {
  test("one line per host, not connected and strangers included, a summary; exit 1 when one did not answer", async () => {
    const r = await w.salty(["ping", ...k()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^a1 +ok {2}\d+\.\d ms$/m);
    expect(r.stdout).toMatch(/^a2 +ok {2}\d+\.\d ms$/m);
    expect(r.stdout).toMatch(/^x9 +ok {2}\d+\.\d ms {2}\(not in inventory\)$/m);
    expect(r.stderr).toMatch(/^ghost +not connected \(not seen since the master started\)$/m);
    expect(r.stderr).toMatch(/^4\/5 hosts answered, elapsed:\d+\.\d{3}$/m);
  });

  test("exit 0 when every targeted host answered; --json", async () => {
    const r = await w.salty(["ping", "cluster:lab", "--json", ...k()]);
    expect(r.code).toBe(0);
    const reply = JSON.parse(r.stdout) as {
      hosts: Array<{ id: string; status: string; ms: number }>;
      timeoutMs: number;
    };
    expect(reply.hosts.map((h) => [h.id, h.status])).toEqual([
      ["a1", "ok"],
      ["a2", "ok"],
      ["ro", "ok"],
    ]);
    expect(reply.timeoutMs).toBe(2000);
  });

  test("a target matching nothing is exit 2", async () => {
    const r = await w.salty(["ping", "nope*", ...k()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("salty: no host matched target=nope*");
  });
});

describe("salty run", () => {
  test("runs on every targeted host, output prefixed and in order per host, then rc and elapsed per host", async () => {
    const r = await w.salty([
      "run",
      "a*",
      ...k(),
      "--",
      "sh",
      "-c",
      'for i in 1 2 3; do echo "line $i of $0"; done',
      "x",
    ]);
    expect(r.code).toBe(0);
    for (const id of ["a1", "a2"]) {
      const mine = r.stdout.split("\n").filter((l) => l.startsWith(`${id}| `));
      expect(mine).toEqual([`${id}| line 1 of x`, `${id}| line 2 of x`, `${id}| line 3 of x`]);
      expect(r.stdout).toMatch(new RegExp(`^${id} +rc:0 elapsed:\\d+\\.\\d{3}$`, "m"));
    }
    expect(r.stdout).toMatch(/^ran on 2 hosts: 2 ok, 0 failed, elapsed:/m);
  });

  test("the agent runs with its runtime settings (started again in place) and a command it runs does not see them", async () => {
    const own = readFileSync(`/proc/${w.agents.get("a1")!.proc.pid}/environ`, "utf8").split("\0");
    for (const [name, value] of Object.entries(RUNTIME_ENV.agent))
      expect(own).toContain(`${name}=${value}`);
    const r = await w.salty(["run", "a1", ...k(), "--", "env"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("a1| SALTY_TIMING="); // the rest of the agent's environment is passed on
    for (const name of [...Object.keys(RUNTIME_ENV.agent), ADDED_MARK])
      expect(r.stdout).not.toContain(`${name}=`);
  });

  test("the master runs with its runtime settings (started again in place, its starting environment marked)", () => {
    const own = readFileSync(`/proc/${w.master!.proc.pid}/environ`, "utf8").split("\0");
    for (const [name, value] of Object.entries(RUNTIME_ENV.master))
      expect(own).toContain(`${name}=${value}`);
    // /proc shows the environment the process was started with: the mark says salty added them
    // (the process forgets it once running, as the agent does: forgetRuntimeEnv, unit-tested).
    expect(own.some((l) => l.startsWith(`${ADDED_MARK}=`))).toBe(true);
  });

  test("a host's output is shown while the command still runs", async () => {
    // The command goes on only once this test has seen its first line: no timing involved.
    const go = `${w.dir}/go-on`;
    const script = `echo first; i=0; while [ ! -e ${go} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo second`;
    const p = Bun.spawn([w.bin, "run", "a1", ...k(), "--shell", "--", script], {
      cwd: w.dir,
      env: { ...process.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = p.stdout.getReader();
    let seen = "";
    while (!seen.includes("a1| first\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toBe("a1| first\n");
    await Bun.write(go, "");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(await p.exited).toBe(0);
    expect(seen).toMatch(/^a1\| first\na1\| second\na1 +rc:0 elapsed:/);
  });

  test("a last line without its newline is printed at that host's end, before the end lines", async () => {
    const r = await w.salty([
      "run",
      "a1,a2",
      ...k(),
      "--shell",
      "--",
      "echo whole; printf 'cut short'",
    ]);
    expect(r.code).toBe(0);
    for (const id of ["a1", "a2"]) {
      const mine = r.stdout.split("\n").filter((l) => l.startsWith(`${id}| `));
      expect(mine).toEqual([`${id}| whole`, `${id}| cut short`]);
    }
    expect(r.stdout).toMatch(/^(a\d\| [^\n]*\n){4}a1 +rc:0 elapsed:\S+\na2 +rc:0 elapsed:/);
  });

  test("exit 1 when a host's rc is not 0; the agent with --no-remote-exec refuses; a host not connected is said", async () => {
    const r = await w.salty(["run", "a1,ro,ghost", ...k(), "--shell", "--", "echo out; exit 3"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("a1| out\n");
    expect(r.stderr).toMatch(/^a1 +rc:3 elapsed:/m);
    expect(r.stderr).toMatch(
      /^ro +refused: this agent runs with --no-remote-exec \(roles only\)$/m,
    );
    expect(r.stderr).toMatch(/^ghost +not connected$/m);
    expect(r.stdout).not.toContain("ro|");
  });

  test("--json: one event per output chunk and per host end, then done; --env and --cwd reach the command", async () => {
    const r = await w.salty([
      "run",
      "a2",
      "--json",
      "--env",
      "GREETING=hi there",
      "--cwd",
      "/tmp",
      ...k(),
      "--shell",
      "--",
      'echo "$GREETING from $(pwd)"',
    ]);
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.every((e) => e.v === 1)).toBe(true);
    const kinds = events.map((e) => e.type);
    expect(kinds[0]).toBe("job");
    expect(kinds.at(-1)).toBe("done");
    expect(
      events
        .filter((e) => e.type === "output")
        .map((e) => e.data)
        .join(""),
    ).toBe("hi there from /tmp\n");
    const end = events.find((e) => e.type === "end");
    expect(end).toMatchObject({ host: "a2", status: "ran", rc: 0 });
    // In the README's order: {"v":1,"type":"end","host":ID,"status":...,"rc":...,"elapsed":...}.
    expect(Object.keys(end).slice(0, 6)).toEqual(["v", "type", "host", "status", "rc", "elapsed"]);
    expect(end).not.toHaveProperty("id");
    expect(events.at(-1)).toMatchObject({ type: "done", rc: 0, hosts: 1 });
    // Seconds to the microsecond, as a role's results are (not 0.004217136000001119).
    for (const e of events.filter((e) => e.type === "end" || e.type === "done"))
      expect(String(e.elapsed)).toMatch(/^\d+(\.\d{1,6})?$/);
  });

  test("the host's secret values are masked in its output, even split across chunks", async () => {
    const r = await w.salty([
      "run",
      "a1",
      ...k(),
      "--shell",
      "--",
      "printf 'tok-a1-s3'; sleep 0.2; printf 'cret-value and more\\n'",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("a1| ******** and more\n");
    expect(r.stdout + r.stderr).not.toContain("s3cret");
  });

  test("output past the cap is cut, and the end line says so", async () => {
    const r = await w.salty([
      "run",
      "a1",
      ...k(),
      "--shell",
      "--",
      "head -c 3000000 /dev/zero | tr '\\\\0' x; echo",
    ]);
    expect(r.code).toBe(0);
    const kept = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("a1| "))
      .join("").length;
    expect(kept).toBeLessThanOrEqual(1024 * 1024 + 10);
    expect(r.stdout).toMatch(
      /^a1 +rc:0 elapsed:\S+ {2}\(output cut: more than 1 MiB, or sent too fast\)$/m,
    );
  });

  test("recorded in the job history as kind run", async () => {
    const end = Date.now() + 10_000;
    let runs: Array<{ kind: string; target: string }> = [];
    while (Date.now() < end) {
      const r = await w.salty(["jobs", "--kind", "run", "--json", ...k()]);
      runs = JSON.parse(r.stdout);
      if (runs.length >= 4) break;
      await Bun.sleep(100);
    }
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.every((j) => j.kind === "run")).toBe(true);
    expect(runs.map((j) => j.target)).toContain("a*");
  });

  test.each([
    [["run", "a1"], /salty run needs a command after --/],
    [["run", "--", "true"], /usage: salty run TARGET -- COMMAND/],
    [["run", "a1", "--shell", "--", "echo", "x"], /--shell takes the command as one string/],
    [["run", "a1", "--env", "1X=y", "--", "true"], /--env "1X=y": KEY=VALUE/],
    [["run", "a1 or", "--", "true"], /target "a1 or": expected a host glob/],
  ])("usage errors are exit 2: %p", async (args, message) => {
    const r = await w.salty([...args, ...k()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("salty hosts", () => {
  test("a table by default: id, cluster, env, os, ip, connected, last apply with its result; JSON with --json", async () => {
    expect((await w.salty(["apply", "target=a1", "version=t1", ...k()])).code).toBe(0);
    let r = await w.salty(["hosts", ...k()]);
    // The history writes in the background: wait (bounded) for the apply to show.
    for (
      const end = Date.now() + 10_000;
      Date.now() < end && !/^a1 .* ok \d+s ago/m.test(r.stdout);
      await Bun.sleep(100)
    )
      r = await w.salty(["hosts", ...k()]);
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split("\n");
    expect(head).toMatch(/^ID +CLUSTER +ENV +OS +IP +CONNECTED +LAST APPLY$/);
    expect(rows.map((l) => l.split(/ +/)[0])).toEqual(["a1", "a2", "ro", "x9"]);
    expect(rows[0]).toMatch(
      /^a1 +lab +lab +\S.* +\d+\.\d+\.\d+\.\d+ +\d+[smhd] +ok \d+s ago version=t1$/,
    );
    expect(rows[1]).toMatch(/^a2 +lab +lab .* +\d+[smhd] +-$/);
    expect(rows[3]).toMatch(/^x9 +\(not in inventory\) +- /);
    const json = JSON.parse((await w.salty(["hosts", "--json", ...k()])).stdout);
    expect(json.a1).toMatchObject({
      cluster: "lab",
      env: "lab",
      lastApply: { status: "ok", version: "t1" },
    });
    expect(json.x9.cluster).toBeUndefined();
    expect(Object.keys(json.a1.facts)).toContain("kernel");
  });
});

describe("an agent that went away", () => {
  test("ping says when it was last seen", async () => {
    const a2 = w.agents.get("a2")!;
    a2.kill("SIGKILL");
    await a2.proc.exited;
    const end = Date.now() + 15_000;
    let r = await w.salty(["ping", "a2", ...k()]);
    while (Date.now() < end && !r.stderr.includes("not connected")) {
      await Bun.sleep(200);
      r = await w.salty(["ping", "a2", ...k()]);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^a2 +not connected \(last seen \d+s ago\)$/m);
  });
});
