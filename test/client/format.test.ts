import { describe, expect, test } from "bun:test";
import { formatReport, resultJson } from "../../lib/client/format.ts";
import type { ApplyReport } from "../../lib/wire/api.ts";

const report: ApplyReport = {
  elapsed: 0.052,
  rc: 1,
  hosts: [
    {
      id: "web1.foo.dev", status: "ran", elapsed: 0.009, errors: 0, changed: 1,
      roles: [
        { role: "users", skipped: true, elapsed: 0, results: [], errors: 0, changed: 0 },
        { role: "nginx", skipped: false, elapsed: 0.009, errors: 0, changed: 1, results: [
          { cmd: "render(nginx/nginx.conf, /opt/w/etc/nginx.conf)", rc: 0, changed: true, created: false, elapsed: 0.004856 },
          { cmd: "copy(nginx/mime.types, /opt/w/etc/mime.types)", rc: 0, changed: false, created: false, elapsed: 0.0004 },
        ] },
        { role: "supervisord", skipped: false, elapsed: 0.001, errors: 0, changed: 0, results: [] },
      ],
    },
    {
      id: "web2.foo.dev", status: "ran", elapsed: 0.2, errors: 1, changed: 0,
      roles: [{ role: "nginx", skipped: false, elapsed: 0.2, errors: 1, changed: 0, results: [{ cmd: "shell(false)", rc: 1, changed: true, elapsed: 0.2, output: "" }] }],
    },
    { id: "web3.foo.dev", status: "missing", elapsed: 0, errors: 1, changed: 0, roles: [] },
    { id: "db1.foo.dev", status: "skipped", elapsed: 0, errors: 0, changed: 0, roles: [] },
  ],
};

const text = (v: number) => formatReport(report, v).map((l) => `${l.error ? "E " : "  "}${l.text}`);

describe("apply output", () => {
  test("default: hosts, changed or failed roles, failed commands, missing hosts", () => {
    expect(text(0)).toEqual([
      "  ",
      "  host:web1.foo.dev elapsed:0.009 errors:0 changed:1",
      "    role:nginx       elapsed:0.009 errors:0 changed:1",
      "E host:web2.foo.dev elapsed:0.200 errors:1 changed:0",
      "E   role:nginx       elapsed:0.200 errors:1 changed:0",
      'E     {"cmd":"shell(false)","rc":1,"changed":true,"elapsed":0.2,"output":""}',
      "E host:web3.foo.dev ...host missing...",
      "  ",
      "  elapsed:0.052",
    ]);
  });

  test("-v lists every role and skipped hosts", () => {
    const lines = text(1);
    expect(lines).toContain("    role:users       elapsed:0.000 errors:0 changed:0");
    expect(lines).toContain("    role:supervisord elapsed:0.001 errors:0 changed:0");
    expect(lines).toContain("  host:db1.foo.dev ...host skipped...");
    expect(lines.some((l) => l.includes("render("))).toBe(false);
  });

  test("-vv lists every command, skipped roles as ...role skipped...", () => {
    const lines = text(2);
    expect(lines).toContain('      {"cmd":"...role skipped...","rc":0,"changed":false,"elapsed":0}');
    expect(lines).toContain('      {"cmd":"render(nginx/nginx.conf, /opt/w/etc/nginx.conf)","rc":0,"changed":true,"created":false,"elapsed":0.004856}');
  });

  test("result keys keep the original order", () => {
    expect(resultJson({ elapsed: 1, error: "x", changed: false, rc: 1, cmd: "c" })).toBe('{"cmd":"c","rc":1,"changed":false,"elapsed":1,"error":"x"}');
  });
});
