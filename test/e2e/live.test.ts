// Live apply results end to end (issue 17): each host's block printed as soon
// as that host is done (completion order), --sort as before, --json-stream's
// NDJSON events. The compiled binary as a master and two agents.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { world, type World } from "./_harness.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { a1: { env: "lab", roles: ["base", "gate"] }, a2: { env: "lab", roles: ["base", "gate"] } } },
};
`,
  "roles/base.ts": `export default async ({ id, makedirs, print }) => { await makedirs("/opt/live"); print("base on " + id); };\n`,
  // The host named by wait= goes on only once the file named by go= exists (bounded): no timing in the test.
  "roles/gate.ts": `export default async ({ id, makedirs, shell, wait, go }) => {
  await makedirs("/opt/gate");
  if (id === wait) await shell("i=0; while [ ! -e " + go + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done");
};
`,
};

let w: World;
const k = () => ["--keyroot", w.keyroot];

beforeAll(async () => {
  w = await world({ files });
  await w.startMaster(["--auto-accept"]);
  await w.startAgent("a1");
  await w.startAgent("a2");
  await w.waitHosts(["a1", "a2"]);
});

afterAll(async () => {
  await w?.[Symbol.asyncDispose]();
});

async function readUntil(
  reader: { read(): Promise<{ value?: Uint8Array; done: boolean }> },
  seen: { text: string },
  until: (s: string) => boolean,
): Promise<void> {
  while (!until(seen.text)) {
    const { value, done } = await reader.read();
    if (done) return;
    seen.text += new TextDecoder().decode(value);
  }
}

test("each host's block is printed when that host is done, in completion order, while the others still run", async () => {
  const go = `${w.dir}/go-a1`;
  const p = Bun.spawn([w.bin, "apply", "-v", "wait=a1", `go=${go}`, ...k()], {
    cwd: w.dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = p.stdout.getReader();
  const seen = { text: "" };
  await readUntil(reader, seen, (s) => /role:gate[^\n]*\n/.test(s));
  // a2 is done and printed; a1 waits for the file this test has not written yet.
  expect(seen.text).toMatch(
    /^\nhost:a2 elapsed:\S+ errors:0 changed:\d+\n  role:base elapsed:\S+ errors:0 changed:\d+\n  role:gate elapsed:\S+ errors:0 changed:\d+\n$/,
  );
  expect(p.exitCode).toBeNull();
  await Bun.write(go, "");
  await readUntil(reader, seen, () => false);
  expect(await p.exited).toBe(0);
  expect(seen.text).toMatch(
    /^\nhost:a2 [^\n]*\n(  [^\n]*\n){2}host:a1 [^\n]*\n(  [^\n]*\n){2}\nelapsed:\S+\n$/,
  );
});

test("--sort prints every host at the end, by id, as before", async () => {
  const r = await w.salty(["apply", "--sort", "-v", ...k()]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /^\nhost:a1 [^\n]*\n(  [^\n]*\n){2}host:a2 [^\n]*\n(  [^\n]*\n){2}\nelapsed:\S+\n$/,
  );
});

test("--json-stream: NDJSON events with v:1, per host host_start, result, role_end, host_end, then apply_end", async () => {
  const r = await w.salty(["apply", "--json-stream", "target=a1", ...k()]);
  expect(r.code).toBe(0);
  const events = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(events.every((e) => e.v === 1)).toBe(true);
  expect(events.map((e) => e.type)).toEqual([
    "job",
    "host_start",
    "result",
    "role_end",
    "result",
    "role_end",
    "host_end",
    "apply_end",
  ]);
  expect(events[2]).toMatchObject({
    type: "result",
    host: "a1",
    role: "base",
    result: { cmd: expect.stringContaining("makedirs("), rc: 0 },
  });
  expect(events[3]).toMatchObject({
    type: "role_end",
    host: "a1",
    role: "base",
    skipped: false,
    errors: 0,
    output: "base on a1",
  });
  expect(events[6]).toMatchObject({ type: "host_end", host: "a1", status: "ran", errors: 0 });
  expect(events[7]).toMatchObject({
    type: "apply_end",
    rc: 0,
    hosts: 1,
    failed: 0,
    skipped: 1,
    job: events[0]!.job,
  });
});

test("--json-stream: each result as its call ends on the agent, before the role is done; none twice", async () => {
  const go = `${w.dir}/go-stream`;
  const p = Bun.spawn(
    [w.bin, "apply", "--json-stream", "target=a1", "wait=a1", `go=${go}`, ...k()],
    { cwd: w.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const reader = p.stdout.getReader();
  const seen = { text: "" };
  await readUntil(reader, seen, (s) => s.includes('"role":"gate","result":{"cmd":"makedirs('));
  // The gate role still waits for the file: its makedirs result is out, its role_end is not.
  expect(seen.text).not.toContain('"type":"role_end","host":"a1","role":"gate"');
  expect(p.exitCode).toBeNull();
  await Bun.write(go, "");
  await readUntil(reader, seen, () => false);
  expect(await p.exited).toBe(0);
  const events = seen.text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; role?: string; result?: { cmd: string } });
  const gate = events
    .filter((e) => e.role === "gate")
    .map((e) => `${e.type}${e.result ? ` ${e.result.cmd.split("(")[0]}` : ""}`);
  expect(gate).toEqual(["result makedirs", "result shell", "role_end"]);
  expect(events.at(-1)).toMatchObject({ type: "apply_end", rc: 0 });
});

test("--json stays one document; with --json-stream it is a usage error", async () => {
  const one = await w.salty(["apply", "--json", ...k()]);
  expect(one.code).toBe(0);
  expect(JSON.parse(one.stdout).hosts.map((h: { id: string }) => h.id)).toEqual(["a1", "a2"]);
  const both = await w.salty(["apply", "--json", "--json-stream", ...k()]);
  expect(both).toMatchObject({ code: 2, stdout: "" });
  expect(both.stderr).toBe("salty: --json and --json-stream: choose one\n");
});
