// Live apply results at -vv end to end (issue 17): each command's line printed
// as the agent finishes it, prefixed with its host and role, before the role's
// next command has run; the host's block at its end without those lines again;
// and a connection lost in the middle of a role keeps what was printed and
// ends the host with the error. The compiled binary as a master and two agents.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { world, type World } from "./_harness.ts";

const files: Record<string, string> = {
  "hosts/index.ts": `export default {
  clusters: { lab: {} },
  envs: { lab: {} },
  hosts: { lab: { a1: { env: "lab", roles: ["steps"] }, a2: { env: "lab", roles: ["steps"] } } },
};
`,
  // On the host named by wait=, the second makedirs runs only once the file named by go= exists
  // (bounded: 20 s, after which it runs anyway): the test decides when, no timing in it.
  "roles/steps.ts": `export default async ({ id, makedirs, shell, print, wait, go }) => {
  await makedirs("/opt/steps/first");
  if (id === wait) await shell("i=0; while [ ! -e " + go + " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done");
  await makedirs("/opt/steps/second");
  print("steps on " + id);
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

/** Reads the client's stdout until `until` holds or it ends. */
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

const FIRST = /^a1\| role:steps \{"cmd":"makedirs\(\/opt\/steps\/first[^\n]*"rc":0[^\n]*\n/m;

test("-vv: each command's line as the agent finishes it, before the next one has run; the block at the host's end", async () => {
  const go = join(w.dir, "go-a1");
  const second = join(w.sandbox("a1"), "opt/steps/second");
  const p = Bun.spawn([w.bin, "apply", "-vv", "wait=a1", `go=${go}`, ...k()], {
    cwd: w.dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = p.stdout.getReader();
  const seen = { text: "" };
  await readUntil(reader, seen, (s) => FIRST.test(s));
  // a1's first command is printed while its role waits for the file: the second has not run.
  expect(seen.text).toMatch(FIRST);
  expect(existsSync(second)).toBe(false);
  expect(p.exitCode).toBeNull();
  await Bun.write(go, "");
  await readUntil(reader, seen, () => false);
  expect(await p.exited).toBe(0);
  expect(existsSync(second)).toBe(true);
  const out = seen.text;
  // Every command once, prefixed; a host's block after its commands, without them.
  for (const h of ["a1", "a2"]) {
    const mine = out.split("\n").filter((l) => l.startsWith(`${h}| role:steps {"cmd":`));
    expect(mine.map((l) => JSON.parse(l.slice(`${h}| role:steps `.length)).cmd)).toEqual([
      "makedirs(/opt/steps/first, 0o755)",
      ...(h === "a1" ? [expect.stringMatching(/^shell\(i=0; while/)] : []),
      "makedirs(/opt/steps/second, 0o755)",
    ]);
    const block = new RegExp(
      `\\nhost:${h} elapsed:\\S+ errors:0 changed:\\d+\\n  role:steps elapsed:\\S+ errors:0 changed:\\d+\\n    \\| steps on ${h}\\n`,
    );
    expect(out).toMatch(block);
    expect(out.indexOf(`host:${h} `)).toBeGreaterThan(out.lastIndexOf(`${h}| role:steps`));
  }
  expect(out).not.toMatch(/^ {4}\{"cmd"/m);
  expect(out).toMatch(/^\n/);
  expect(out).toMatch(/\n\nelapsed:\S+\n$/);
});

test("-v is unchanged: nothing before a host's block, no command lines", async () => {
  const r = await w.salty(["apply", "-v", ...k()]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /^\nhost:a\d [^\n]*\n {2}role:steps [^\n]*\nhost:a\d [^\n]*\n {2}role:steps [^\n]*\n\nelapsed:\S+\n$/,
  );
});

test("-vv: a connection lost in the middle of a role keeps the lines printed; the host ends with the error", async () => {
  const p = Bun.spawn(
    [w.bin, "apply", "-vv", "target=a1", "wait=a1", `go=${join(w.dir, "never")}`, ...k()],
    { cwd: w.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const reader = p.stdout.getReader();
  const seen = { text: "" };
  await readUntil(reader, seen, (s) => FIRST.test(s));
  expect(p.exitCode).toBeNull();
  w.agents.get("a1")!.kill("SIGKILL");
  await readUntil(reader, seen, () => false);
  const stderr = await new Response(p.stderr).text();
  expect(await p.exited).toBe(1);
  expect(seen.text).toMatch(FIRST);
  // The host's block (on stderr: it failed) names the failure the report adds after what was done.
  expect(stderr).toMatch(
    /^host:a1 elapsed:\S+ errors:1 changed:\d+\n {2}role:steps elapsed:\S+ errors:1 changed:\d+\n {4}\{"cmd":"role\(steps\)","rc":1,[^\n]*"error":"connection lost"\}\n/m,
  );
  expect(stderr).not.toContain("makedirs(/opt/steps/first");
  // The job history keeps what was done before the connection was lost.
  const jobs = await w.salty(["jobs", "--json", ...k()]);
  const last = (JSON.parse(jobs.stdout) as Array<{ id: string }>)[0]!;
  const shown = await w.salty(["jobs", "show", last.id, "-vv", ...k()]);
  expect(shown.stdout + shown.stderr).toMatch(
    /role:steps [^\n]*errors:1[^\n]*\n {4}\{"cmd":"makedirs\(\/opt\/steps\/first[^\n]*\n {4}\{"cmd":"role\(steps\)"[^\n]*"connection lost"/,
  );
});
