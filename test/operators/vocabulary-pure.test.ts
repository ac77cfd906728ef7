// The pure parts of the role vocabulary of issue 16: validate's word
// splitting, lineInFile's edits, and (below) the command builders and parsers
// of user, group, cron and shell's conditions.

import { describe, expect, test } from "bun:test";
import { checkCommand, checkCronName, checkSchedule, cronFile } from "../../lib/operators/cron.ts";
import { editLines } from "../../lib/operators/line-in-file.ts";
import { checkPassword } from "../../lib/operators/_account-files.ts";
import {
  diffWords,
  groupDelete,
  groupModify,
  userCreate,
  userDelete,
  userDiff,
  userModify,
} from "../../lib/operators/_accounts.ts";
import { checkValidate, splitWords, validateArgv } from "../../lib/operators/_validate.ts";

describe("validate: splitWords", () => {
  test.each([
    ["nginx -t -c %s", ["nginx", "-t", "-c", "%s"]],
    ["  visudo   -cf %s ", ["visudo", "-cf", "%s"]],
    [`sh -c 'test -s "$1"' x %s`, ["sh", "-c", 'test -s "$1"', "x", "%s"]],
    [`a "b c" d\\ e ""`, ["a", "b c", "d e", ""]],
    [`a "x\\"y" $(id) ; rm`, ["a", 'x"y', "$(id)", ";", "rm"]],
  ])("%p", (line, want) => expect(splitWords(line)).toEqual(want));

  test("an unterminated quote is an error", () =>
    expect(() => splitWords("a 'b")).toThrow("unterminated ' quote"));
  test("%s becomes the temporary path in every word, nothing expanded", () => {
    expect(validateArgv("check --file=%s '$HOME'", "/etc/.x.salty-tmp")).toEqual([
      "check",
      "--file=/etc/.x.salty-tmp",
      "$HOME",
    ]);
    expect(validateArgv("stat -c %%a%%s %s", "/t")).toEqual(["stat", "-c", "%a%s", "/t"]);
    expect(() => checkValidate("printf %%s")).toThrow("%s");
  });
  test("a command without %s, or not one line, is refused", () => {
    expect(() => checkValidate("nginx -t")).toThrow("%s");
    expect(() => checkValidate("a %s\nb")).toThrow("one line");
    expect(() => checkValidate(42)).toThrow("command line");
    expect(checkValidate(undefined)).toBeUndefined();
  });
});

describe("lineInFile: editLines", () => {
  test.each([
    ["regexp: last match replaced", "a=1\nb\na=2\n", "a=3", { regexp: /^a=/ }, "a=1\nb\na=3\n"],
    ["regexp: last match is the line", "a=3\na=3\n", "a=3", { regexp: /^a=/ }, undefined],
    ["regexp wins over replace", "x\na=1\n", "a=3", { regexp: /^a=/, replace: "x" }, "x\na=3\n"],
    [
      "insertAfter the last match",
      "[s]\nk\n[s]\nj\n",
      "n",
      { insertAfter: /^\[s\]/ },
      "[s]\nk\n[s]\nn\nj\n",
    ],
    ["insertAfter no match: end", "a\n", "n", { insertAfter: /^zz/ }, "a\nn\n"],
    ["insertAfter EOF", "a\n", "n", { insertAfter: "EOF" as const }, "a\nn\n"],
    ["insertBefore BOF", "a\n", "#!/bin/sh", { insertBefore: "BOF" as const }, "#!/bin/sh\na\n"],
    ["insertBefore last match", "e\nb\ne\n", "n", { insertBefore: /^e/ }, "e\nb\nn\ne\n"],
    ["absent: equal lines removed", "a\nb\na", "a", { absent: true }, "b\n"],
    ["absent: nothing there", "b\n", "a", { absent: true }, undefined],
    ["absent by regexp: all removed", "#a\n#b\n", "", { absent: true, regexp: /^#/ }, ""],
    ["replace string (the older form)", "x\ny\n", "z", "y", "x\nz\n"],
  ])("%s", (_name, text, line, edit, want) => expect(editLines(text, line, edit)).toBe(want));
});

describe("cron: schedule, name and command checks", () => {
  test.each([
    ["*/5 * * * *", "*/5 * * * *"],
    ["0 3  * * mon-fri", "0 3 * * mon-fri"],
    ["0,30 8-18/2 1 jan,JUL 0-7", "0,30 8-18/2 1 jan,JUL 0-7"],
    ["@reboot", "@reboot"],
  ])("%p is accepted", (s, want) => expect(checkSchedule(s)).toBe(want));
  test.each([
    ["* * * *", "five fields"],
    ["60 * * * *", "minute out of range"],
    ["* 24 * * *", "hour out of range"],
    ["* * 0 * *", "day of month out of range"],
    ["* * * 13 *", "month out of range"],
    ["* * * * 8", "day of week out of range"],
    ["* * * * fri-mon", "backwards"],
    ["*/0 * * * *", "step must be at least 1"],
    ["@sometimes", "five fields"],
    ["* * * * *;id", "not valid"],
  ])("%p is refused (%s)", (s, msg) => expect(() => checkSchedule(s)).toThrow(msg));
  test("names and commands", () => {
    expect(() => checkCronName("a.b")).toThrow("cron name");
    expect(() => checkCronName("../x")).toThrow("cron name");
    expect(checkCronName("php_sessions-clean")).toBe("php_sessions-clean");
    expect(() => checkCommand("a\nb")).toThrow("one line");
    expect(() => checkCommand("date +%F")).toThrow("unescaped %");
    expect(checkCommand("date +\\%F")).toBe("date +\\%F");
    expect(cronFile("x", "@daily", "app", "run")).toBe("# salty: cron(x)\n@daily app run\n");
  });
});

describe("user and group command builders (shadow-utils, busybox)", () => {
  const now = {
    uid: 1000,
    gid: 1000,
    home: "/home/a",
    shell: "/bin/sh",
    comment: "",
    groups: ["adm", "wheel"],
    password: "!",
  };
  test("userDiff: only what was asked and differs", () => {
    expect(
      userDiff(
        { name: "a", system: false, createHome: true, shell: "/bin/sh", groups: ["adm", "wheel"] },
        now,
        undefined,
      ),
    ).toEqual({});
    const d = userDiff(
      {
        name: "a",
        system: false,
        createHome: true,
        uid: 1001,
        group: "staff",
        groups: ["adm", "docker"],
        comment: "A",
        password: "$6$x$y",
      },
      now,
      50,
    );
    expect(d).toEqual({
      uid: 1001,
      group: "staff",
      comment: "A",
      password: "$6$x$y",
      groups: { want: ["adm", "docker"], add: ["docker"], drop: ["wheel"] },
    });
    expect(diffWords(d)).toEqual(["uid", "group", "comment", "password", "groups"]);
  });
  test("linux: one usermod, then chpasswd with the hash on stdin only", () => {
    const cmds = userModify("linux", "a", {
      shell: "/bin/bash",
      groups: { want: [], add: [], drop: ["adm"] },
      password: "$6$x$y",
    });
    expect(cmds).toEqual([
      { argv: ["usermod", "--groups", "", "--shell", "/bin/bash", "a"] },
      { argv: ["chpasswd", "-e"], stdin: "a:$6$x$y\n" },
    ]);
  });
  test("busybox: groups one by one; what it cannot change is an error naming it", () => {
    expect(
      userModify("busybox", "a", { groups: { want: ["x"], add: ["x"], drop: ["y"] } }).map(
        (c) => c.argv,
      ),
    ).toEqual([
      ["addgroup", "a", "x"],
      ["delgroup", "a", "y"],
    ]);
    expect(() => userModify("busybox", "a", { home: "/srv/a", comment: "A" })).toThrow(
      "busybox has no usermod: the home, comment of the existing user a cannot be changed",
    );
    expect(() => groupModify("busybox", "g", 77, undefined)).toThrow("busybox has no groupmod");
    expect(userDelete("busybox", "a")).toEqual([{ argv: ["deluser", "a"] }]);
    expect(groupDelete("linux", "g")).toEqual([{ argv: ["groupdel", "g"] }]);
  });
  test("a system user: no home made unless asked; the group made first", () => {
    const spec = { name: "svc", system: true, createHome: false };
    expect(userCreate("linux", spec, "svc", true).map((c) => c.argv.join(" "))).toEqual([
      "groupadd --system svc",
      "useradd --system --gid svc --no-create-home svc",
    ]);
    expect(userCreate("busybox", spec, "svc", true).map((c) => c.argv.join(" "))).toEqual([
      "addgroup -S svc",
      "adduser -D -S -H -G svc svc",
    ]);
  });
  test("crypt hashes accepted, anything else refused without its value", () => {
    for (const ok of ["$6$rounds=5000$salt$abc./DEF", "$y$j9T$abc$def", "!", "*", "!$6$s$h"])
      expect(checkPassword(ok)).toBe(ok);
    for (const bad of ["hunter2", "$6$ab:cd", "$6$a$b\nroot::0:0", ""])
      expect(() => checkPassword(bad)).toThrow(/crypt hash[\s\S]*not shown/);
  });
});
