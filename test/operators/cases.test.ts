// The generic runner of test/operators/<op>/<case>.json: each case is applied
// in a fresh world and checked (Result fields, planned changes or note, final
// files); then the same call again must change nothing (and say why); then a
// dry run in another fresh world must leave every file untouched.

import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Result } from "salty";
import { callOperator } from "../../lib/operators/call.ts";
import { OPERATORS } from "../../lib/operators/table.ts";
import type { Operator } from "../../lib/operators/types.ts";
import { createUsers } from "../../lib/sys/users.ts";
import type { ProbeFixture, SystemFixture } from "./_fakes.ts";
import { makeWorld, octal, snapshot, type Tree, type WorldOpts } from "./_world.ts";

type Expected = Partial<Omit<Result, "rc">> & {
  rc?: number | "nonzero";
  note?: string;
  changes?: object[];
  counts?: Result["changes"];
};
type After = Record<
  string,
  | null
  | string
  | {
      content?: string;
      mode?: string;
      type?: string;
      target?: string;
      user?: string;
      group?: string;
    }
>;

interface Case {
  doc: string;
  root?: boolean;
  master?: Tree;
  fs?: Tree;
  system?: SystemFixture;
  probe?: ProbeFixture;
  serverShell?: boolean;
  diff?: boolean;
  context?: WorldOpts["context"];
  call: [string, ...unknown[]];
  expect: Expected;
  after?: After;
  /** shell: every call changes. */
  idempotent?: false;
}

// biome-ignore lint/suspicious/noExplicitAny: operators have different argument tuples
const ops: Record<string, Operator<any>> = OPERATORS;
const isRoot = process.getuid?.() === 0;
const users = createUsers();

/** "0o600" strings under a `mode` key become numbers (JSON has no octal); other strings stay. */
function args(call: unknown[]): unknown[] {
  const fix = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(fix)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v).map(([k, x]) => [
              k,
              k === "mode" && typeof x === "string" && /^0o[0-7]+$/.test(x) ? octal(x, 0) : fix(x),
            ]),
          )
        : v;
  return call.map(fix);
}

function checkResult(r: Result, e: Expected): void {
  if (e.rc === "nonzero") expect(r.rc).not.toBe(0);
  else expect(r.rc).toBe(e.rc ?? 0);
  if (e.error) expect(r.error ?? "").toContain(e.error);
  else expect(r.error).toBeUndefined();
  expect(r.changed).toBe(e.changed!);
  if (e.created !== undefined) expect(r.created).toBe(e.created);
  if (e.cmd) expect(r.cmd).toBe(e.cmd);
  if (e.output !== undefined) expect(r.output ?? "").toContain(e.output);
  if (e.diff !== undefined) expect(r.diff).toBe(e.diff);
  if (e.counts) expect(r.changes).toEqual(e.counts);
}

async function checkAfter(prefix: string, after: After): Promise<void> {
  const snap = snapshot(prefix);
  for (const [path, want] of Object.entries(after)) {
    const got = snap[path];
    if (want === null) {
      expect(got, path).toBeUndefined();
      continue;
    }
    expect(got, path).toBeDefined();
    const w = typeof want === "string" ? { content: want } : want;
    if (w.content !== undefined) expect(got!.content, path).toBe(w.content);
    if (w.type) expect(got!.type, path).toBe(w.type);
    if (w.target !== undefined) expect(got!.target, path).toBe(w.target);
    if (w.mode) expect(got!.mode.toString(8), path).toBe(octal(w.mode, 0).toString(8));
    const owner = w.user ? await users.user(w.user) : await users.self();
    expect(got!.uid, `${path} uid`).toBe(owner!.uid);
    expect(got!.gid, `${path} gid`).toBe(w.group ? (await users.group(w.group))! : owner!.gid);
  }
}

const root = import.meta.dir;
for (const op of readdirSync(root)
  .filter((d) => !d.startsWith("_") && statSync(join(root, d)).isDirectory())
  .sort()) {
  describe(op, () => {
    for (const file of readdirSync(join(root, op))
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      const c = JSON.parse(readFileSync(join(root, op, file), "utf8")) as Case;
      const name = `${file.replace(/\.json$/, "")}: ${c.doc}`;
      test.skipIf(c.root === true && !isRoot)(name, async () => {
        const op = ops[c.call[0]];
        if (!op) throw new Error(`unknown operator ${c.call[0]}`);
        const opts = (): WorldOpts => structuredClone({ ...c, diff: c.diff ?? false });
        using w = await makeWorld(opts());
        const first = await callOperator(w.ctx(), op, args(c.call.slice(1)));
        checkResult(first.result, c.expect);
        if (c.expect.changes)
          expect(first.plan?.changes).toMatchObject(args(c.expect.changes) as object[]);
        if (c.expect.note) expect(first.plan?.note).toBe(c.expect.note);
        if (!first.result.changed && first.result.rc === 0)
          expect(first.plan?.note, "a no-change plan says why").toBeTruthy();
        if (c.after) await checkAfter(w.prefix, c.after);
        if (c.idempotent !== false && first.result.rc === 0) {
          const again = await callOperator(w.ctx(), op, args(c.call.slice(1)));
          expect(again.result.rc).toBe(0);
          expect(again.result.changed, "second call").toBe(false);
          expect(again.plan?.note, "second call says why nothing changed").toBeTruthy();
        }
        using d = await makeWorld({ ...opts(), dryRun: true });
        const before = snapshot(d.prefix);
        const dry = await callOperator(d.ctx(), op, args(c.call.slice(1)));
        expect(snapshot(d.prefix), "dry run leaves the files").toEqual(before);
        expect(dry.result.changed).toBe(
          first.plan ? first.plan.changes.length > 0 && first.plan.changed !== false : false,
        );
        expect(dry.result.rc).toBe(first.plan ? 0 : 1);
      });
    }
  });
}
