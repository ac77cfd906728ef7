import { describe, expect, test } from "bun:test";
import { formatReport, resultJson } from "../../lib/client/format.ts";
import { printLines } from "../../lib/client/print.ts";
import type { ApplyReport } from "../../lib/wire/api.ts";

const report: ApplyReport = {
  elapsed: 0.052,
  rc: 1,
  hosts: [
    {
      id: "web1.foo.dev",
      status: "ran",
      elapsed: 0.009,
      errors: 0,
      changed: 1,
      roles: [
        { role: "users", skipped: true, elapsed: 0, results: [], errors: 0, changed: 0 },
        {
          role: "nginx",
          skipped: false,
          elapsed: 0.009,
          errors: 0,
          changed: 1,
          results: [
            {
              cmd: "render(nginx/nginx.conf, /opt/w/etc/nginx.conf)",
              rc: 0,
              changed: true,
              created: false,
              elapsed: 0.004856,
            },
            {
              cmd: "copy(nginx/mime.types, /opt/w/etc/mime.types)",
              rc: 0,
              changed: false,
              created: false,
              elapsed: 0.0004,
            },
          ],
        },
        { role: "supervisord", skipped: false, elapsed: 0.001, errors: 0, changed: 0, results: [] },
      ],
    },
    {
      id: "web2.foo.dev",
      status: "ran",
      elapsed: 0.2,
      errors: 1,
      changed: 0,
      roles: [
        {
          role: "nginx",
          skipped: false,
          elapsed: 0.2,
          errors: 1,
          changed: 0,
          results: [{ cmd: "shell(false)", rc: 1, changed: true, elapsed: 0.2, output: "" }],
        },
      ],
    },
    { id: "web3.foo.dev", status: "missing", elapsed: 0, errors: 1, changed: 0, roles: [] },
    { id: "db1.foo.dev", status: "skipped", elapsed: 0, errors: 0, changed: 0, roles: [] },
  ],
};

const text = (v: number, target?: string) =>
  formatReport(report, v, target ? { target } : {}).map(
    (l) => `${l.error ? (l.red ? "E " : "e ") : "  "}${l.text}`,
  );

describe("apply output", () => {
  test("default: hosts, changed or failed roles, failed commands, missing hosts; hosts outside the target counted", () => {
    expect(text(0, "web*")).toEqual([
      "  ",
      "  host:web1.foo.dev elapsed:0.009 errors:0 changed:1",
      "    role:nginx       elapsed:0.009 errors:0 changed:1",
      "E host:web2.foo.dev elapsed:0.200 errors:1 changed:0",
      "E   role:nginx       elapsed:0.200 errors:1 changed:0",
      'E     {"cmd":"shell(false)","rc":1,"changed":true,"elapsed":0.2,"output":""}',
      "E host:web3.foo.dev ...host missing...",
      "  skipped 1 host outside target=web*",
      "  ",
      "  elapsed:0.052",
    ]);
  });

  test("-v lists every role, skipped ones as ...role skipped...; hosts outside the target are one count line", () => {
    const lines = text(1);
    expect(lines).toContain("    role:users       ...role skipped...");
    expect(lines).toContain("    role:supervisord elapsed:0.001 errors:0 changed:0");
    expect(lines).toContain("  skipped 1 host outside the target");
    expect(lines.some((l) => l.includes("db1.foo.dev"))).toBe(false);
    expect(lines.some((l) => l.includes("render("))).toBe(false);
  });

  test("a failed host's whole block goes to stderr; only its failures are red", () => {
    const failed = {
      id: "web4",
      status: "ran" as const,
      elapsed: 0.1,
      errors: 1,
      changed: 1,
      roles: [
        { role: "users", skipped: true, elapsed: 0, results: [], errors: 0, changed: 0 },
        {
          role: "nginx",
          skipped: false,
          elapsed: 0.1,
          errors: 1,
          changed: 1,
          results: [
            { cmd: "copy(a, /b)", rc: 0, changed: true, created: true, elapsed: 0.01 },
            { cmd: "shell(false)", rc: 1, changed: true, elapsed: 0.09 },
          ],
        },
      ],
    };
    const lines = formatReport({ elapsed: 0.1, rc: 1, hosts: [failed] }, 2).map(
      (l) => `${l.error ? (l.red ? "E " : "e ") : "  "}${l.text}`,
    );
    expect(lines).toEqual([
      "  ",
      "E host:web4 elapsed:0.100 errors:1 changed:1",
      "e   role:users ...role skipped...",
      "E   role:nginx elapsed:0.100 errors:1 changed:1",
      'e     {"cmd":"copy(a, /b)","rc":0,"changed":true,"created":true,"elapsed":0.01}',
      'E     {"cmd":"shell(false)","rc":1,"changed":true,"elapsed":0.09}',
      "  ",
      "  elapsed:0.100",
    ]);
  });

  test("-vv lists every command, skipped roles as ...role skipped...", () => {
    const lines = text(2);
    expect(lines).toContain("    role:users       ...role skipped...");
    expect(lines).toContain(
      '      {"cmd":"render(nginx/nginx.conf, /opt/w/etc/nginx.conf)","rc":0,"changed":true,"created":false,"elapsed":0.004856}',
    );
  });

  test("result keys keep the original order", () => {
    expect(resultJson({ elapsed: 1, error: "x", changed: false, rc: 1, cmd: "c" })).toBe(
      '{"cmd":"c","rc":1,"changed":false,"elapsed":1,"error":"x"}',
    );
  });
});

describe("--diff and --dry-run output (issue 12)", () => {
  const diff =
    "--- /etc/app.conf\n+++ /etc/app.conf\n@@ -1,2 +1,2 @@\n port=80\n-name=old\n+name=new\n";
  const withDiff: ApplyReport = {
    elapsed: 0.01,
    rc: 0,
    hosts: [
      {
        id: "web1",
        status: "ran",
        elapsed: 0.01,
        errors: 0,
        changed: 1,
        roles: [
          {
            role: "app",
            skipped: false,
            elapsed: 0.01,
            errors: 0,
            changed: 1,
            results: [
              {
                cmd: "render(app.conf, /etc/app.conf)",
                rc: 0,
                changed: true,
                created: false,
                elapsed: 0.001,
                diff,
              },
              { cmd: "copy(a, /etc/a)", rc: 0, changed: false, created: false, elapsed: 0.001 },
            ],
          },
        ],
      },
    ],
  };
  const diffBlock = [
    "      --- /etc/app.conf",
    "      +++ /etc/app.conf",
    "      @@ -1,2 +1,2 @@",
    "       port=80",
    "      -name=old",
    "      +name=new",
  ];

  test.each([0, 1])(
    "at -v%i the changed command is named and its diff printed under it, readable",
    (v) => {
      const lines = formatReport(withDiff, v).map((l) => l.text);
      const at = lines.indexOf("    render(app.conf, /etc/app.conf)");
      expect(at).toBeGreaterThan(0);
      expect(lines.slice(at + 1, at + 7)).toEqual(diffBlock);
      expect(lines.some((l) => l.includes("\\n"))).toBe(false);
      expect(lines.some((l) => l.includes("copy(a"))).toBe(false);
    },
  );

  test("at -vv the command's JSON line has no escaped diff; the diff follows it as lines", () => {
    const lines = formatReport(withDiff, 2).map((l) => l.text);
    const at = lines.indexOf(
      '    {"cmd":"render(app.conf, /etc/app.conf)","rc":0,"changed":true,"created":false,"elapsed":0.001}',
    );
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 7)).toEqual(diffBlock);
    expect(lines.join("\n")).not.toContain('"diff"');
  });

  test("diff lines are tagged for colour: + added, - removed, @@ hunk; headers and context plain", () => {
    const tones = formatReport(withDiff, 0)
      .filter((l) => l.text.startsWith("      "))
      .map((l) => l.tone ?? "plain");
    expect(tones).toEqual(["plain", "plain", "hunk", "plain", "remove", "add"]);
  });

  test("a dry run begins with its banner; an apply has none", () => {
    expect(formatReport(withDiff, 0, { dryRun: true })[0]).toEqual({
      text: "dry run: nothing was changed on any host",
      error: false,
    });
    expect(formatReport(withDiff, 0)[0]!.text).toBe("");
  });
});

describe("printLines", () => {
  const lines = formatReport({ elapsed: 0, rc: 0, hosts: [] }, 0).concat([
    { text: "      +new", error: false, tone: "add" },
    { text: "      -old", error: false, tone: "remove" },
    { text: "      @@ -1 +1 @@", error: false, tone: "hunk" },
  ]);
  const print = (isTTY: boolean) => {
    let out = "";
    printLines(lines, {
      stdout: { write: (s: string) => (out += s), isTTY },
      stderr: { write: () => {} },
    });
    return out;
  };

  test("colours diff lines on a terminal: + green, - red, @@ cyan", () => {
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      expect(print(true)).toContain(
        "\x1b[32m      +new\x1b[39m\n\x1b[31m      -old\x1b[39m\n\x1b[36m      @@ -1 +1 @@\x1b[39m\n",
      );
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
  });

  test("consecutive lines of one stream in one write, the order across the streams kept", () => {
    const writes: string[] = [];
    printLines(
      [
        { text: "a1 ok", error: false },
        { text: "a2 ok", error: false },
        { text: "a3 no response", error: true },
        { text: "a4 ok", error: false },
        { text: "3/4 answered", error: true },
        { text: "elapsed", error: true },
      ],
      {
        stdout: { write: (s: string) => writes.push(`out:${s}`) },
        stderr: { write: (s: string) => writes.push(`err:${s}`) },
        env: {},
      },
    );
    expect(writes).toEqual([
      "out:a1 ok\na2 ok\n",
      "err:a3 no response\n",
      "out:a4 ok\n",
      "err:3/4 answered\nelapsed\n",
    ]);
  });

  test("plain when stdout is not a terminal", () => {
    expect(print(false)).toContain("      +new\n      -old\n      @@ -1 +1 @@\n");
    expect(print(false)).not.toContain("\x1b");
  });
});
