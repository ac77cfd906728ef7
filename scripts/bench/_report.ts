// The benchmark's report: the table of figures, the targets of issue 6 judged
// against them, and the JSON document written to bench/results.json.
// Bench-only.

import type { AdhocResult } from "./_adhoc.ts";
import type { CaseResult } from "./_measure.ts";
import { range, secs, table, type Figure } from "./_stats.ts";
import type { W1Result } from "./_w1.ts";
import type { W1PkgResult } from "./_w1pkg.ts";
import type { W2Result } from "./_w2.ts";
import type { W3Result } from "./_w3.ts";
import type { W4Result } from "./_w4.ts";

export interface Results {
  machine: Record<string, unknown>;
  runs: number;
  quick: boolean;
  startup: Figure;
  w1?: W1Result;
  /** W1 with 20 packages and 5 services (_w1pkg.ts). */
  w1pkg?: W1PkgResult;
  w2?: W2Result;
  w3?: W3Result;
  /** salty ping / run to 200 agents, W2 no-change with and without live events (_adhoc.ts). */
  adhoc?: AdhocResult;
  /** One master, 10,000 agents (_w4.ts). */
  w4?: W4Result;
  ansible?: string;
  targets?: Target[];
}

export interface Target {
  case: string;
  target: string;
  measured: string;
  met: boolean;
}

const cpu = (f: Figure) => (f.runs ? secs(f.median) : "-");
/** MiB, with a decimal below 100 (a figure near a target must not round onto it). */
const mb = (kb: number) => `${(kb / 1024).toFixed(kb < 100 * 1024 ? 1 : 0)} MB`;
const mbps = (bytes: number, t: number) => `${(bytes / 1e6 / t).toFixed(0)} MB/s`;

function row(name: string, r: CaseResult, note = ""): string[] {
  return [
    name,
    range(r.wall),
    range(r.elapsed),
    cpu(r.clientCpu),
    cpu(r.masterCpu),
    cpu(r.agentCpu),
    `${r.ops} ops, changed ${r.changed.join("/")}`,
    note,
  ];
}

function rows(res: Results): string[][] {
  const out: string[][] = [
    [
      "case",
      "whole command",
      "apply elapsed",
      "client CPU",
      "master CPU",
      "agent CPU",
      "operations",
      "notes",
    ],
  ];
  out.push(["salty version (start-up)", range(res.startup), "", "", "", "", "", ""]);
  const { w1, w2, w3 } = res;
  if (w1) {
    out.push(row("W1 (a) first apply", w1.a, "fresh agent, empty --path"));
    out.push(
      row(
        "W1 (b) no-change",
        w1.b,
        `${secs(w1.b.wall.median / w1.b.ops)}/op whole, ${secs(w1.b.elapsed.median / w1.b.ops)}/op apply; first run ${secs(w1.b.first)}`,
      ),
    );
    out.push(
      row("W1 (c) 1 file + 1 var changed", w1.c, `${(w1.cBytes / 1024).toFixed(0)} KB changed`),
    );
  }
  for (const s of w2?.sizes ?? []) {
    out.push(row(`W2 ${s.agents} agents, first`, s.first, w2!.mode));
    out.push(
      row(`W2 ${s.agents} agents, no-change`, s.noChange, `first run ${secs(s.noChange.first)}`),
    );
  }
  if (w3) {
    out.push(
      row(
        `W3 first transfer, ${w3.bytes / 1e6} MB`,
        w3.first,
        `${mbps(w3.bytes, w3.first.wall.median)} whole, ${mbps(w3.bytes, w3.first.elapsed.median)} apply`,
      ),
    );
    out.push(row("W3 no-change", w3.noChange, `${w3.files} files`));
    out.push(row("W3 one changed file", w3.changed, `${(w3.changedBytes / 1024).toFixed(0)} KB`));
  }
  const f = w1?.floor;
  if (f) {
    out.push([
      `floor: lstat W1 (${f.lstat.entries} entries)`,
      range(f.lstat.wall),
      range(f.lstat.inner),
      "",
      "",
      "",
      "",
      "compiled Bun process; 2nd column in-process",
    ]);
    out.push([
      "floor: lstat + SHA-256 W1",
      range(f.hash.wall),
      range(f.hash.inner),
      "",
      "",
      "",
      "",
      "",
    ]);
    out.push(["floor: find -printf %s W1 (C)", range(f.find), "", "", "", "", "", ""]);
    out.push([
      "floor: cp -a W1 files/",
      range(f.cp),
      "",
      "",
      "",
      "",
      "",
      `after sync, before each (a): (a) is ${f.aVsCp.toFixed(2)}× it`,
    ]);
  }
  if (w3)
    out.push([
      `floor: cp -a W3`,
      range(w3.cp),
      "",
      "",
      "",
      "",
      "",
      `${mbps(w3.bytes, w3.cp.median)}; before each first transfer: that is ${w3.firstVsCp.toFixed(2)}× it`,
    ]);
  if (w1?.ansible) {
    out.push(["Ansible W1 (a) first", range(w1.ansible.a), "", "", "", "", "", ""]);
    out.push([
      "Ansible W1 (b) no-change",
      range(w1.ansible.b),
      "",
      "",
      "",
      "",
      "",
      `${w1.ansible.runs} runs, ${(w1.ansible.b.median / w1!.b.wall.median).toFixed(0)}× salty`,
    ]);
  }
  if (w2?.ansible) {
    const s = w2.sizes.find((x) => x.agents === w2.ansible!.hosts);
    const ratio = s ? ` (${(w2.ansible.b.median / s.noChange.wall.median).toFixed(0)}× salty)` : "";
    out.push([
      `Ansible W2 ${w2.ansible.hosts} hosts first / no-change`,
      `${range(w2.ansible.a)} / ${range(w2.ansible.b)}`,
      "",
      "",
      "",
      "",
      "",
      ratio,
    ]);
  }
  return out;
}

function memory(res: Results): string[] {
  const lines: string[] = [];
  if (res.w1) {
    const { idle: a, released: r, afterRelease } = res.w1.agent;
    const parts = (s: typeof a) =>
      `${mb(s.rss)} (${mb(s.rssAnon)} heap and other anonymous memory, ${mb(s.rssFile)} of the mapped executable, shared)`;
    lines.push(
      `W1 agent: idle RSS ${parts(a)} with its role worker, peak ${mb(a.hwm)}; master peak ${mb(res.w1.master.hwm)}`,
    );
    lines.push(
      `W1 agent: idle RSS ${parts(r)} once its role worker was released; a no-change apply then takes ${range(afterRelease)}`,
    );
  }
  for (const s of res.w2?.sizes ?? [])
    lines.push(
      `W2 ${s.agents} agents: master RSS ${mb(s.master.rss)}, peak ${mb(s.master.hwm)}; one agent RSS ${mb(s.agent.rss)}, peak ${mb(s.agent.hwm)}`,
    );
  if (res.w4) {
    const w4 = res.w4;
    lines.push(
      `W4: ${w4.agents} agents in ${w4.processes} processes of ${w4.perProcess} (one such process: RSS ${mb(w4.agentProcessRss.connected)} connected, ${mb(w4.agentProcessRss.after)} after the applies), ${w4.perSource} per source address; master RSS ${mb(w4.master.connectedRss)} connected, ${mb(w4.master.afterRss)} after the applies, peak ${mb(w4.master.hwm)}`,
    );
    if (w4.equivalence)
      lines.push(
        `W4 check: ${w4.equivalence.agents} agents as processes and grouped in one process: ${w4.equivalence.identical ? "identical apply results" : `DIFFERENT: ${w4.equivalence.differences.join("; ")}`}`,
      );
  }
  if (res.w3)
    lines.push(`W3: agent peak ${mb(res.w3.agent.hwm)}, master peak ${mb(res.w3.master.hwm)}`);
  return lines;
}

export function judge(res: Results): Target[] {
  const t: Target[] = [];
  const add = (c: string, target: string, measured: string, met: boolean) =>
    t.push({ case: c, target, measured, met });
  const { w1, w2, w3 } = res;
  if (w1) {
    const b = w1.b.wall.median,
      floor = w1.floor.lstat.wall.median;
    // Issue 22's targets ("one host, at the floor"), tighter than the first version's (≤ 50 ms and
    // ≤ 2× the lstat floor; (c) ≤ 1.2× (b); (a) ≤ 2× cp -a).
    const apply = w1.b.elapsed.median;
    add(
      "W1 (b) no-change, whole command",
      "≤ 25 ms (apply ≤ 8 ms)",
      `${secs(b)} (apply ${secs(apply)}), ${(b / floor).toFixed(2)}× lstat floor (${secs(floor)})`,
      b <= 0.025 && apply <= 0.008,
    );
    const rate = w3 ? w3.bytes / w3.first.wall.median : 300e6;
    const limit = 1.1 * b + w1.cBytes / rate;
    add(
      "W1 (c) one change",
      "≤ 1.1× W1 (b) + transfer",
      `${secs(w1.c.wall.median)} (limit ${secs(limit)})`,
      w1.c.wall.median <= limit,
    );
    add(
      "W1 (a) first apply",
      "≤ 1.0× cp -a",
      `${secs(w1.a.wall.median)}, ${w1.floor.aVsCp.toFixed(2)}× cp -a (${secs(w1.floor.cp.median)}; paired runs)`,
      w1.floor.aVsCp <= 1,
    );
    const { idle, released } = w1.agent;
    add(
      "agent idle RSS",
      "≤ 60 MB",
      `${mb(released.rss)} (${mb(released.rssAnon)} private) once its worker is released; ${mb(idle.rss)} with it`,
      released.rss <= 60 * 1024,
    );
    if (w1.ansible) {
      const ratio = w1.ansible.b.median / b;
      add(
        "vs Ansible, W1 (b)",
        "≥ 300× faster",
        `${ratio.toFixed(0)}× (Ansible ${secs(w1.ansible.b.median)})`,
        ratio >= 300,
      );
    }
  }
  if (res.w1pkg) {
    const {
      delta,
      calls,
      elapsedDelta,
      elapsedCalls,
      without,
      with: w,
      role,
      cpu,
      systemd,
    } = res.w1pkg;
    const plus = (t: number) => `${t >= 0 ? "+" : ""}${(t * 1e3).toFixed(1)} ms`;
    add(
      "W1 + 20 packages, 5 services, no change",
      "≤ +5 ms",
      `${plus(delta)} paired (${secs(without.median)} -> ${secs(w.median)}; the calls alone ${plus(calls)}; the apply's elapsed ${plus(elapsedDelta)}, its calls ${plus(elapsedCalls)}; CPU ${plus(cpu.with.total - cpu.without.total)}; the role ${secs(role.median)} on the agent; ${systemd === "nspawn" ? "real systemd and dpkg, systemd-nspawn" : "systemctl double"})`,
      delta <= 0.005,
    );
  }
  const big = w2?.sizes.find((s) => s.agents === 200);
  if (big) {
    add(
      "W2 no-change, 200 agents",
      "≤ 0.5 s",
      secs(big.noChange.wall.median),
      big.noChange.wall.median <= 0.5,
    );
    add(
      "master with 200 agents",
      "≤ 200 MB",
      `${mb(big.master.hwm)} peak`,
      big.master.hwm <= 200 * 1024,
    );
  }
  if (res.adhoc) {
    const a = res.adhoc;
    add(
      `salty ping, ${a.agents} agents`,
      "≤ 100 ms whole command",
      secs(a.ping.median),
      a.ping.median <= 0.1,
    );
    add(
      `salty run '*' -- true, ${a.agents} agents`,
      "≤ 300 ms whole command",
      secs(a.run.median),
      a.run.median <= 0.3,
    );
    const d = a.applyLive.median / a.applyJson.median - 1;
    add(
      `W2 no-change, ${a.agents} agents, live text vs --json`,
      "within 5 %",
      `${(d * 100).toFixed(1)} % (${secs(a.applyJson.median)} -> ${secs(a.applyLive.median)})`,
      d <= 0.05,
    );
    if (a.ansible)
      add(
        `vs Ansible ad-hoc (${a.ansible.hosts} hosts, forks 50)`,
        "-",
        `ansible -m ping ${secs(a.ansible.ping.median)}, -a true ${secs(a.ansible.run.median)}`,
        true,
      );
  }
  if (res.w4) {
    const w4 = res.w4;
    const at = (l: number[]) => ` (load ${l.map((x) => x.toFixed(1)).join(" ")})`;
    add(
      `W4 ${w4.agents} agents connected after a master restart`,
      "≤ 10 s",
      `${secs(w4.connect.seconds)}${at(w4.connect.load)}`,
      w4.connect.seconds <= 10,
    );
    for (const a of w4.applies) {
      const limit = a.agents <= 1_000 ? 0.5 : 3;
      add(
        `W4 no-change apply, ${a.agents} agents`,
        `≤ ${limit} s whole command`,
        `${secs(a.noChange.median)}${at(a.load)}`,
        a.noChange.median <= limit,
      );
    }
    add(
      `W4 master RSS, ${w4.agents} connected`,
      "≤ 500 MB",
      `${mb(w4.master.connectedRss)} (${mb(w4.master.hwm)} peak)`,
      w4.master.connectedRss <= 500 * 1024,
    );
    add(
      `W4 salty ping, ${w4.ping.agents} agents`,
      "≤ 1 s",
      `${secs(w4.ping.wall.median)}${at(w4.ping.load)}`,
      w4.ping.wall.median <= 1,
    );
    if (w4.equivalence)
      add(
        `W4 grouped agents = one process each (${w4.equivalence.agents})`,
        "identical results",
        w4.equivalence.identical ? "identical" : "different",
        w4.equivalence.identical,
      );
  }
  if (w3) {
    const rate = w3.bytes / w3.first.wall.median / 1e6;
    const cp = w3.bytes / w3.cp.median / 1e6;
    add(
      "W3 first transfer",
      "≥ 300 MB/s",
      `${rate.toFixed(0)} MB/s (cp -a here: ${cp.toFixed(0)} MB/s; ${w3.firstVsCp.toFixed(2)}× its time)`,
      rate >= 300,
    );
    add(
      "W3 no-change re-check",
      "≤ 100 ms",
      secs(w3.noChange.wall.median),
      w3.noChange.wall.median <= 0.1,
    );
  }
  return t;
}

export function render(res: Results): string {
  const targets = res.targets ?? [];
  const tt = [
    ["target", "wanted", "measured", ""],
    ...targets.map((x) => [x.case, x.target, x.measured, x.met ? "met" : "MISSED"]),
  ];
  return [
    `salty benchmark: ${res.machine.cpu} (${res.machine.cores} cores), ${res.machine.kernel}, ${res.machine.tmpFs} at ${res.machine.tmpDir}; ${res.runs} runs after warm-up, median (min–max)`,
    `load average at start ${String(res.machine.loadStart)}, at end ${String(res.machine.loadEnd)} (other work on the machine skews every figure)`,
    "",
    table(rows(res)),
    "",
    ...memory(res),
    ...(res.ansible ? [`Ansible: ${res.ansible}`] : []),
    "",
    table(tt),
  ].join("\n");
}
