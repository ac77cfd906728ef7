// Ad-hoc commands (issue 17): `salty ping '*'` and `salty run '*' -- true` to
// 200 agents, each its own process, timed as a user runs them (whole
// command); and the W2 no-change apply two ways in the same run, `--json`
// (no live events) and the default text output (each host's report streamed
// as it ends), so what the streaming costs is measured, not guessed. With
// Ansible installed: `ansible all -m ping` and `-a true` (forks 50) on 10
// hosts. Bench-only.

import { join } from "node:path";
import { settle, WARM } from "./_measure.ts";
import { Cluster, timed } from "./_procs.ts";
import { figure, type Figure } from "./_stats.ts";
import { makeW2 } from "./_workloads.ts";
import { Ansible } from "./_ansible.ts";
import type { BenchEnv } from "./_w1.ts";

export interface AdhocResult {
  agents: number;
  ping: Figure;
  run: Figure;
  /** W2 no-change on the same agents: --json (no live events) and the text output (live host events). */
  applyJson: Figure;
  applyLive: Figure;
  ansible?: { hosts: number; ping: Figure; run: Figure };
}

const id = (i: number) => `w2-${String(i).padStart(3, "0")}`;

function repeat(
  runs: number,
  warmup: number,
  argv: string[],
  ok: (r: ReturnType<typeof timed>) => boolean,
): Figure {
  const samples: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const r = timed(argv);
    if (!ok(r))
      throw new Error(
        `${argv.slice(1, 3).join(" ")} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`,
      );
    if (i >= warmup) samples.push(r.wall);
  }
  return figure(samples);
}

export async function runAdhoc(env: BenchEnv, agents: number): Promise<AdhocResult> {
  const dir = join(env.tmp, "adhoc");
  const w = makeW2(dir);
  const c = new Cluster(env.bin, dir, w.fileroot);
  await c.startMaster();
  const ids = Array.from({ length: agents }, (_, i) => id(i));
  env.say(`ad-hoc: starting ${agents} agents, one process each`);
  for (const [i, a] of ids.entries()) {
    c.startAgent(a);
    if ((i + 1) % 20 === 0) await c.waitHosts(ids.slice(0, i + 1));
  }
  await c.waitHosts(ids);
  c.apply(); // the first apply: what the no-change ones then find in place
  await settle();
  const k = ["--keyroot", c.keyroot];
  env.say(`ad-hoc: ping, run, and W2 no-change (--json and live text) on ${agents} agents`);
  const ping = repeat(
    env.runs,
    WARM,
    [env.bin, "ping", "*", ...k],
    (r) => r.code === 0 && r.stdout.includes(`${agents}/${agents} hosts answered`),
  );
  const run = repeat(
    env.runs,
    WARM,
    [env.bin, "run", "*", ...k, "--", "true"],
    (r) => r.code === 0 && r.stdout.includes(`ran on ${agents} hosts: ${agents} ok`),
  );
  // Alternated, so that drift in the machine's load falls on both alike.
  const json: number[] = [],
    live: number[] = [];
  for (let i = 0; i < WARM + env.runs; i++) {
    const a = timed([env.bin, "apply", "--json", ...k]);
    const b = timed([env.bin, "apply", ...k]);
    if (a.code !== 0 || b.code !== 0)
      throw new Error(`no-change apply failed: ${a.stderr.slice(-1000)}${b.stderr.slice(-1000)}`);
    if (i >= WARM) json.push(a.wall), live.push(b.wall);
  }
  const out: AdhocResult = { agents, ping, run, applyJson: figure(json), applyLive: figure(live) };
  if (env.ansible) out.ansible = ansibleAdhoc(env, w, 10);
  return out;
}

function ansibleAdhoc(
  env: BenchEnv,
  w: ReturnType<typeof makeW2>,
  hosts: number,
): AdhocResult["ansible"] {
  env.say(`ad-hoc Ansible: ansible all -m ping and -a true on ${hosts} hosts, forks 50`);
  new Ansible(
    w,
    Array.from({ length: hosts }, (_, i) => id(i)),
    50,
  ); // writes inventory-N.yml
  const e = {
    ...process.env,
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_HOME: join(w.ansible, ".ansible"),
    ANSIBLE_LOCAL_TEMP: join(w.ansible, ".ansible", "tmp"),
    ANSIBLE_FORKS: "50",
  };
  const one = (args: string[]) => {
    const r = timed(["ansible", "all", "-i", `inventory-${hosts}.yml`, ...args], {
      cwd: w.ansible,
      env: e,
    });
    if (r.code !== 0)
      throw new Error(
        `ansible ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout.slice(-2000)}`,
      );
    return r.wall;
  };
  const runs = Math.min(env.runs, 3);
  return {
    hosts,
    ping: figure(Array.from({ length: runs }, () => one(["-m", "ping"]))),
    run: figure(Array.from({ length: runs }, () => one(["-a", "true"]))),
  };
}
