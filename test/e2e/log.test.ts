// The master's log lines (issue 18): a level on every line; under systemd
// (JOURNAL_STREAM naming stderr) no timestamp of their own and a `<N>`
// priority prefix the journal reads; $SALTY_LOG_LEVEL drops lower levels.
// The real binary, its stderr a file whose device and inode JOURNAL_STREAM names.
import { afterEach, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { binary } from "./_harness.ts";
import { formatLog, levelOf } from "../../lib/log.ts";
import { tempDir, type TempDir } from "../_temp.ts";

const started: Array<{ proc: Subprocess; scratch: TempDir }> = [];
afterEach(async () => {
  for (const { proc, scratch } of started.splice(0)) {
    proc.kill("SIGKILL");
    await proc.exited;
    scratch[Symbol.dispose]();
  }
});

/** A master whose stderr is a file; `journal`: JOURNAL_STREAM names that file. Returns a reader of its stderr. */
async function master(opts: {
  journal: boolean;
  env?: Record<string, string>;
}): Promise<(() => string) & { keyroot: string }> {
  const scratch = tempDir("salty-log-");
  const dir = scratch.path;
  mkdirSync(join(dir, "keys"), { mode: 0o700 });
  const path = join(dir, "stderr");
  const fd = openSync(path, "w");
  const st = fstatSync(fd);
  const env = {
    ...process.env,
    ...opts.env,
    ...(opts.journal ? { JOURNAL_STREAM: `${st.dev}:${st.ino}` } : { JOURNAL_STREAM: "" }),
  };
  const proc = Bun.spawn(
    [
      await binary(),
      "master",
      "--bind",
      "127.0.0.1:0",
      "--keyroot",
      join(dir, "keys"),
      "--fileroot",
      dir,
    ],
    { cwd: dir, env, stdin: "ignore", stdout: "ignore", stderr: fd },
  );
  closeSync(fd);
  started.push({ proc, scratch });
  return Object.assign(() => readFileSync(path, "utf8"), { keyroot: join(dir, "keys") });
}

async function until(read: () => string, re: RegExp): Promise<string> {
  for (const end = Date.now() + 15_000; Date.now() < end; await Bun.sleep(50))
    if (re.test(read())) return read();
  throw new Error(`no line matching ${re}; got:\n${read()}`);
}

test("under systemd: a <N> priority prefix and no timestamp", async () => {
  const read = await master({ journal: true });
  const out = await until(read, /master\.listening/);
  expect(out).toMatch(/^<6>master\.listening bind=127\.0\.0\.1:\d+ /m);
  expect(out).not.toMatch(/^\d{4}-\d\d-\d\dT/m);
});

test("elsewhere: a timestamp and the level's name; SALTY_LOG_LEVEL=warn drops info lines", async () => {
  const read = await master({ journal: false });
  expect(await until(read, /master\.listening/)).toMatch(
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info master\.listening bind=127\.0\.0\.1:\d+ /m,
  );
  const quiet = await master({ journal: false, env: { SALTY_LOG_LEVEL: "warn" } });
  // Once the master answers a client, it has passed the point where it logs master.listening.
  let answered = false;
  for (const end = Date.now() + 15_000; !answered && Date.now() < end; await Bun.sleep(100)) {
    const p = Bun.spawn([await binary(), "hosts", "--keyroot", quiet.keyroot], {
      stdout: "ignore",
      stderr: "ignore",
    });
    answered = (await p.exited) === 0;
  }
  expect(answered).toBe(true);
  expect(quiet()).not.toContain(" info ");
  expect(quiet()).not.toContain("master.listening");
});

test.each([
  ["job.start", "info"],
  ["job.failure", "warn"],
  ["history.unavailable", "warn"],
  ["history.lost", "error"],
  ["wire.accept_error", "error"],
  ["keys.mismatch", "warn"],
  ["agent.facts_dropped", "warn"],
  ["apply.role_failed", "warn"],
  ["agent.connected", "info"],
])("%s is logged as %s", (event, level) => {
  expect(levelOf(event)).toBe(level as ReturnType<typeof levelOf>);
});

test("a line's fields: bare when they hold no space, JSON otherwise; the journal's priorities", () => {
  const now = new Date(Date.UTC(2026, 11, 3, 12, 45, 1));
  expect(
    formatLog(
      "job.end",
      {
        job: "20261203-124501-0000",
        target: "web*",
        error: "two words\nline",
        n: 3,
        skip: undefined,
      },
      "warn",
      { journal: false, now },
    ),
  ).toBe(
    `2026-12-03T12:45:01.000Z warn job.end job=20261203-124501-0000 target=web* error="two words\\nline" n=3`,
  );
  expect(formatLog("x.y", {}, "error", { journal: true, now })).toBe("<3>x.y");
  expect(formatLog("x.y", {}, "info", { journal: true, now })).toBe("<6>x.y");
});
