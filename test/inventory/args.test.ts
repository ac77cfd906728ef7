import { expect, test } from "bun:test";
import { closest, editDistance, parseApplyArgs, parseValue } from "../../lib/inventory/args.ts";
import { UsageError } from "../../lib/errors.ts";

test.each([
  ["abc", "abc"],
  ["a,b", ["a", "b"]],
  ["a,", ["a"]],
  [",", []],
  ["1,2", ["1", "2"]],
  ["true", true],
  ["false", false],
  ["True", "True"],
  ["42", 42],
  ["007", 7],
  ["1.5", 1.5],
  ["1.", "1."],
  [".5", ".5"],
  ["-3", "-3"],
  ["1e3", "1e3"],
  ["12345678901234567890", "12345678901234567890"],
  ["", ""],
  ["a=b", "a=b"],
  ["abc123", "abc123"],
])("parseValue(%p) = %p", (raw, value) => {
  expect(parseValue(raw)).toEqual(value);
});

test.each([
  [[], { roles: [], skip: [], extra: {} }],
  [["roles=nginx"], { roles: ["nginx"], skip: [], extra: {} }],
  [["roles=a,b", "skip=c"], { roles: ["a", "b"], skip: ["c"], extra: {} }],
  [["roles="], { roles: [], skip: [], extra: {} }],
  [["skip=1"], { roles: [], skip: ["1"], extra: {} }],
  [
    ["target=web*"],
    {
      roles: [],
      skip: [],
      target: { text: "web*", expr: { kind: "host", pattern: "web*" } },
      extra: {},
    },
  ],
  [
    ["target=web1.foo.dev"],
    {
      roles: [],
      skip: [],
      target: { text: "web1.foo.dev", expr: { kind: "host", pattern: "web1.foo.dev" } },
      extra: {},
    },
  ],
  [
    ["target=cluster:prod"],
    {
      roles: [],
      skip: [],
      target: { text: "cluster:prod", expr: { kind: "cluster", name: "prod" } },
      extra: {},
    },
  ],
  [
    ["target={web1,db1}"],
    {
      roles: [],
      skip: [],
      target: { text: "{web1,db1}", expr: { kind: "host", pattern: "{web1,db1}" } },
      extra: {},
    },
  ],
  [
    ["tgt=x", "version=1", "stage=2", "size=3", "spin=4", "files=5", "sku=6"],
    {
      roles: [],
      skip: [],
      extra: { tgt: "x", version: 1, stage: 2, size: 3, spin: 4, files: 5, sku: 6 },
    },
  ],
  [
    ["version=abc123", "n=3", "ratio=0.25", "dry=false", "tags=x,y", "msg=a=b"],
    {
      roles: [],
      skip: [],
      extra: { version: "abc123", n: 3, ratio: 0.25, dry: false, tags: ["x", "y"], msg: "a=b" },
    },
  ],
])("parseApplyArgs(%p)", (argv, expected) => {
  expect(parseApplyArgs(argv)).toEqual(expected as ReturnType<typeof parseApplyArgs>);
});

test.each([
  [["nginx"], /"nginx": apply arguments are KEY=VALUE/],
  [["=x"], /the key must be a name/],
  [["foo-bar=1"], /the key must be a name/],
  [["1x=1"], /the key must be a name/],
  [["id=web1"], /"id" is a name of the role context/],
  [["me=x"], /"me" is a name/],
  [["role=x"], /"role" is a name/],
  [["hosts=x"], /"hosts" is a name/],
  [["bootstrap=true"], /"bootstrap" is a name/],
  ...[
    "copy",
    "render",
    "lineInFile",
    "makedirs",
    "remove",
    "symlink",
    "syncdir",
    "shell",
    "serverShell",
    "useradd",
    "usergroups",
    "print",
    "isChanged",
    "myIp",
    "getIps",
  ].map((op) => [[`${op}=1`], new RegExp(`"${op}" is a name`)] as [string[], RegExp]),
  [["roles=a", "roles=b"], /roles= is given twice/],
  [["target="], /target= needs a host glob/],
  [["target=cluster:"], /cluster: needs a name/],
  [["target=a,,b"], /an empty item in the list/],
  [["target=web1 and"], /expected a host glob or NAME: after "and"/],
  [["__proto__=a,b"], /__proto__=: not a usable name/],
  [["trgt=prod1"], /^trgt=: did you mean target=\?/],
  [["taget=web1"], /did you mean target=\?/],
  [["Target=web1"], /did you mean target=\?/],
  [["rolse=web"], /did you mean roles=\?/],
  [["rols=web"], /did you mean roles=\?/],
  [["Roles=web"], /did you mean roles=\?/],
  [["targte=web1"], /did you mean target=\?/],
  [["skp=web"], /did you mean skip=\?/],
  [["skips=web"], /did you mean skip=\?/],
])("parseApplyArgs(%p) is a usage error", (argv, message) => {
  let err: unknown;
  try {
    parseApplyArgs(argv);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).message).toMatch(message);
});

test.each<[string, string, number]>([
  ["target", "target", 0],
  ["trgt", "target", 2],
  ["rolse", "roles", 1],
  ["skip", "ship", 1],
  ["abc", "", 3],
  ["tgt", "target", 3],
])("editDistance(%p, %p) = %p", (a, b, d) => {
  expect(editDistance(a, b)).toBe(d);
  expect(editDistance(b, a)).toBe(d);
});

test("closest: the nearest within two edits, else undefined", () => {
  expect(closest("wbe", ["base", "web", "db"])).toBe("web");
  expect(closest("zzzz", ["base", "web"])).toBeUndefined();
});
