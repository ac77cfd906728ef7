import { describe, expect, test } from "bun:test";
import { JsonStream, LiveReport } from "../../lib/client/live.ts";
import { RunLines, runEndLines } from "../../lib/client/adhoc-format.ts";
import type { ApplyReport, HostReport, RoleOutcome } from "../../lib/wire/api.ts";

const role = (name: string, extra: Partial<RoleOutcome> = {}): RoleOutcome => ({
  role: name,
  skipped: false,
  elapsed: 0.001,
  results: [{ cmd: `makedirs(/${name})`, rc: 0, changed: true, elapsed: 0.0005 }],
  errors: 0,
  changed: 1,
  ...extra,
});
const host = (id: string, roles: RoleOutcome[], extra: Partial<HostReport> = {}): HostReport => ({
  id,
  status: "ran",
  elapsed: 0.01,
  errors: 0,
  changed: roles.length,
  roles,
  ...extra,
});

describe("LiveReport (the text of a live apply)", () => {
  test("each host's block as it ends, in that order; the rest and the tail at the end", () => {
    const a1 = host("a1", [role("base")]);
    const a2 = host("a2", [role("base"), role("web")]);
    const ghost: HostReport = {
      id: "ghost",
      status: "missing",
      elapsed: 0,
      errors: 1,
      changed: 0,
      roles: [],
    };
    const report: ApplyReport = {
      hosts: [a1, a2, ghost, { ...host("s", []), status: "skipped" }],
      elapsed: 0.02,
      rc: 1,
    };
    const live = new LiveReport(0, { target: "a*" });
    const text = (ls: { text: string; error: boolean }[]) =>
      ls.map((l) => `${l.error ? "E" : "O"} ${l.text}`);
    expect(text(live.event({ type: "host_start", host: "a2" }))).toEqual([]);
    expect(text(live.event({ type: "host_end", host: a2 }))).toEqual([
      "O ",
      "O host:a2 elapsed:0.010 errors:0 changed:2",
      "O   role:base elapsed:0.001 errors:0 changed:1",
      "O   role:web  elapsed:0.001 errors:0 changed:1",
    ]);
    expect(text(live.event({ type: "host_end", host: a2 }))).toEqual([]); // once
    expect(text(live.event({ type: "host_end", host: ghost }))).toEqual([
      "E host:ghost ...host missing...",
    ]);
    // a1's event never came (too large to send): printed from the final report.
    expect(text(live.end(report))).toEqual([
      "O host:a1 elapsed:0.010 errors:0 changed:1",
      "O   role:base elapsed:0.001 errors:0 changed:1",
      "O skipped 1 host outside target=a*",
      "O ",
      "O elapsed:0.020",
    ]);
  });

  test("an apply that ends with no host event prints the head once, then the report", () => {
    const live = new LiveReport(0, { dryRun: true });
    const lines = live.end({ hosts: [host("a1", [])], elapsed: 0.001, rc: 0 }).map((l) => l.text);
    expect(lines).toEqual([
      "dry run: nothing was changed on any host",
      "",
      "host:a1 elapsed:0.010 errors:0 changed:0",
      "",
      "elapsed:0.001",
    ]);
  });
});

describe("LiveReport at -vv (each command as it comes)", () => {
  const text = (ls: { text: string; error: boolean }[]) =>
    ls.map((l) => `${l.error ? "E" : "O"} ${l.text}`);

  test("each result printed as it comes, prefixed with host and role; the block leaves those out", () => {
    const live = new LiveReport(2, {});
    expect(live.wantsResults).toBe(true);
    expect(new LiveReport(1, {}).wantsResults).toBe(false);
    const ok = {
      cmd: "copy(a, /a)",
      rc: 0,
      changed: true,
      elapsed: 0.001,
      diff: "--- a\n+++ a\n+x\n",
    };
    const bad = { cmd: "shell(false)", rc: 1, changed: true, elapsed: 0.002, error: "exit 1" };
    expect(text(live.event({ type: "result", host: "a1", role: "web", result: ok }))).toEqual([
      "O ",
      'O a1| role:web {"cmd":"copy(a, /a)","rc":0,"changed":true,"elapsed":0.001}',
      "O a1|       --- a",
      "O a1|       +++ a",
      "O a1|       +x",
    ]);
    expect(text(live.event({ type: "result", host: "a1", role: "web", result: bad }))).toEqual([
      'E a1| role:web {"cmd":"shell(false)","rc":1,"changed":true,"elapsed":0.002,"error":"exit 1"}',
    ]);
    const late = { cmd: "role(web)", rc: 1, changed: false, elapsed: 0, error: "connection lost" };
    const a1 = host("a1", [role("web", { results: [ok, bad, late], errors: 2, output: "hi" })], {
      errors: 2,
    });
    expect(text(live.event({ type: "host_end", host: a1 }))).toEqual([
      "E host:a1 elapsed:0.010 errors:2 changed:1",
      "E   role:web elapsed:0.001 errors:2 changed:1",
      'E     {"cmd":"role(web)","rc":1,"changed":false,"elapsed":0,"error":"connection lost"}',
      "E     | hi",
    ]);
    // A late result of a host already printed is not printed again.
    expect(text(live.event({ type: "result", host: "a1", role: "web", result: ok }))).toEqual([]);
  });

  test("-v asks for no results and prints none", () => {
    const live = new LiveReport(1, {});
    const r = { cmd: "copy(a, /a)", rc: 0, changed: true, elapsed: 0.001 };
    expect(live.event({ type: "result", host: "a1", role: "web", result: r })).toEqual([]);
  });
});

describe("JsonStream (--json-stream, version 1)", () => {
  test("events in order; roles not reported live and hosts whose event was lost are filled in before their end", () => {
    const s = new JsonStream();
    const base = role("base");
    const skipped = role("web", { skipped: true, results: [], changed: 0 });
    const a1 = host("a1", [base, skipped, role("handlers")]);
    const out = [
      ...s.job("J1"),
      ...s.event({ type: "host_start", host: "a1" }),
      ...s.event({ type: "role_end", host: "a1", role: base }),
      ...s.event({ type: "host_end", host: a1 }),
      ...s.end({ hosts: [a1, host("a2", [base])], elapsed: 0.5, rc: 0 }, "J1"),
    ];
    expect(out.every((o) => o.v === 1)).toBe(true);
    expect(
      out.map((o) => `${o.type}${o.host ? ` ${o.host}` : ""}${o.role ? ` ${o.role}` : ""}`),
    ).toEqual([
      "job",
      "host_start a1",
      "result a1 base",
      "role_end a1 base",
      "role_end a1 web",
      "result a1 handlers",
      "role_end a1 handlers",
      "host_end a1",
      "result a2 base",
      "role_end a2 base",
      "host_end a2",
      "apply_end",
    ]);
    expect(out.at(-1)).toEqual({
      v: 1,
      type: "apply_end",
      rc: 0,
      elapsed: 0.5,
      hosts: 2,
      failed: 0,
      skipped: 0,
      job: "J1",
    });
    expect(out[2]).toEqual({
      v: 1,
      type: "result",
      host: "a1",
      role: "base",
      result: base.results[0],
    });
    expect(out[4]).toMatchObject({ type: "role_end", role: "web", skipped: true });
  });
});

describe("RunLines (salty run's streamed output)", () => {
  test("whole lines prefixed by host; a partial line waits for its end of line or the host's end", () => {
    const r = new RunLines();
    expect(r.output("a1", "one\ntw")).toEqual(["a1| one"]);
    expect(r.output("a2", "x\n")).toEqual(["a2| x"]);
    expect(r.output("a1", "o\nthr")).toEqual(["a1| two"]);
    expect(r.end("a1")).toEqual(["a1| thr"]);
    expect(r.end("a2")).toEqual([]);
  });

  test("end lines: rc and elapsed, why a host did not run, a cut output; failures on stderr", () => {
    const lines = runEndLines({
      elapsed: 0.5,
      rc: 1,
      hosts: [
        { id: "a1", status: "ran", rc: 0, elapsed: 0.012 },
        { id: "a2", status: "ran", rc: 3, elapsed: 0.02, cut: true },
        {
          id: "ro",
          status: "refused",
          rc: 1,
          elapsed: 0.001,
          error: "this agent runs with --no-remote-exec (roles only)",
        },
      ],
    });
    expect(lines.map((l) => [l.text, l.error])).toEqual([
      ["a1  rc:0 elapsed:0.012", false],
      ["a2  rc:3 elapsed:0.020  (output cut: more than 1 MiB, or sent too fast)", true],
      ["ro  refused: this agent runs with --no-remote-exec (roles only)", true],
      ["ran on 3 hosts: 1 ok, 2 failed, elapsed:0.500", true],
    ]);
  });
});

describe("a rollout in the live output", () => {
  const rollout = {
    planned: 3,
    batches: [{ hosts: ["a1"], failed: ["a1"] }],
    budget: 1,
    spent: 1,
    failed: ["a1"],
    missing: [],
    neverAttempted: ["a2", "a3"],
    stopped: "the failure budget is spent (1 of max_fail 1 hosts failed): 2 hosts never attempted",
  };

  test("--json-stream: batch events as they come, the rollout in apply_end", () => {
    const s = new JsonStream();
    expect(s.event({ type: "batch_start", batch: 1, of: 3, hosts: ["a1"] })).toEqual([
      { v: 1, type: "batch_start", batch: 1, of: 3, hosts: ["a1"] },
    ]);
    expect(
      s.event({
        type: "batch_end",
        batch: 1,
        of: 3,
        failed: ["a1"],
        spent: 1,
        budget: 1,
        stopped: "failure budget spent (1/1)",
      }),
    ).toEqual([
      {
        v: 1,
        type: "batch_end",
        batch: 1,
        of: 3,
        failed: ["a1"],
        spent: 1,
        budget: 1,
        stopped: "failure budget spent (1/1)",
      },
    ]);
    const a1 = host("a1", [role("base", { errors: 1 })], { errors: 1 });
    const end = s.end({ hosts: [a1], elapsed: 0.1, rc: 1, rollout }, "J");
    expect(end.at(-1)).toEqual({
      v: 1,
      type: "apply_end",
      rc: 1,
      elapsed: 0.1,
      hosts: 1,
      failed: 1,
      skipped: 0,
      job: "J",
      rollout: {
        batches: 1,
        of: 3,
        failed: ["a1"],
        never_attempted: ["a2", "a3"],
        spent: 1,
        budget: 1,
        stopped: rollout.stopped,
      },
    });
  });

  test("text: the rollout's lines after the hosts, the failed and never-attempted ones on stderr", () => {
    const live = new LiveReport(0, {});
    const lines = live.end({
      hosts: [host("a1", [role("base", { errors: 1 })], { errors: 1 })],
      elapsed: 0.1,
      rc: 1,
      rollout,
    });
    const tail = lines.slice(lines.findIndex((l) => l.text.startsWith("rollout:")));
    expect(tail.map((l) => [l.text, l.error])).toEqual([
      ["rollout: 1/3 batches (1 host), 1 failed, budget 1/1", false],
      [`rollout stopped: ${rollout.stopped}`, true],
      ["  failed: a1", true],
      ["  never attempted (2): a2, a3", true],
      ["", false],
      ["elapsed:0.100", false],
    ]);
  });
});
