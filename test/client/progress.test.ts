import { expect, test } from "bun:test";
import { ProgressLine, progressText } from "../../lib/client/progress.ts";

function stream(isTTY: boolean) {
  const out = {
    isTTY,
    written: "",
    write(s: string) {
      out.written += s;
      return true;
    },
  };
  return out;
}

test.each([
  [{ elapsed: 3.7, done: 12, total: 40 }, "apply 3s: 12/40 hosts done"],
  [
    { elapsed: 40, done: 12, total: 40, failed: 2, running: ["web7 role:app"] },
    "apply 40s: 12/40 hosts done, 2 failed, running: web7 role:app, ...",
  ],
  [
    { elapsed: 40, done: 39, total: 40, failed: 0, running: ["web7 role:app"] },
    "apply 40s: 39/40 hosts done, running: web7 role:app",
  ],
  [
    {
      elapsed: 40,
      done: 12,
      total: 40,
      failed: 1,
      batch: { n: 2, of: 5, hosts: 10, failed: 1, spent: 1, budget: 2 },
    },
    "apply 40s: batch 2/5: 10 hosts, 1 failed, budget 1/2; 12/40 hosts done, 1 failed",
  ],
  [
    {
      elapsed: 50,
      done: 12,
      total: 40,
      failed: 1,
      batch: { n: 3, of: 5, hosts: 10, failed: 0, spent: 1, budget: 2, startsIn: 25 },
    },
    "apply 50s: batch 3/5 starts in 25s (pause): 10 hosts, budget 1/2; 12/40 hosts done, 1 failed",
  ],
  [
    {
      elapsed: 1,
      done: 0,
      total: 6,
      batch: { n: 1, of: 3, hosts: 1, failed: 0, spent: 0, budget: 1 },
    },
    "apply 1s: batch 1/3: 1 host, 0 failed, budget 0/1; 0/6 hosts done",
  ],
])("the progress text says time, hosts done, failed and running: %p", (p, text) => {
  expect(progressText(p)).toBe(text);
});

test("on a terminal the line is rewritten in place and erased before the report", () => {
  const tty = stream(true);
  const p = new ProgressLine(tty);
  p.update({ elapsed: 1.2, done: 1, total: 3 });
  p.update({ elapsed: 2.4, done: 2, total: 3 });
  p.clear();
  expect(tty.written).toBe(
    "\r\x1b[Kapply 1s: 1/3 hosts done\r\x1b[Kapply 2s: 2/3 hosts done\r\x1b[K",
  );
});

test("piped output (CI logs) gets one progress line every 10 seconds", () => {
  const pipe = stream(false);
  const p = new ProgressLine(pipe);
  for (const elapsed of [1, 5, 9.9, 10.2, 11, 19, 20.5, 41])
    p.update({ elapsed, done: 1, total: 2 });
  p.clear();
  expect(pipe.written).toBe(
    "apply 10s: 1/2 hosts done\napply 20s: 1/2 hosts done\napply 41s: 1/2 hosts done\n",
  );
});

test("lines printed around the progress line erase it first and draw it again after", () => {
  const tty = stream(true);
  const p = new ProgressLine(tty);
  p.update({ elapsed: 1, done: 0, total: 2 });
  p.around(() => tty.write("host:a1 ...\n"));
  p.clear();
  expect(tty.written).toBe(
    "\r\x1b[Kapply 1s: 0/2 hosts done\r\x1b[Khost:a1 ...\napply 1s: 0/2 hosts done\r\x1b[K",
  );
});

test("the master's wait for its agents after its start is said on a terminal and, once per notice, on a pipe", () => {
  const waiting = { elapsed: 0, done: 0, total: 0, waiting: { agents: 2, ms: 4200 } };
  expect(progressText(waiting)).toBe(
    "waiting up to 4.2s for 2 known agents to reconnect (the master has just started)",
  );
  const pipe = stream(false);
  new ProgressLine(pipe).update(waiting);
  expect(pipe.written).toBe(
    "waiting up to 4.2s for 2 known agents to reconnect (the master has just started)\n",
  );
  const tty = stream(true);
  const p = new ProgressLine(tty);
  p.update(waiting);
  p.clear();
  expect(tty.written).toBe(
    "\r\x1b[Kwaiting up to 4.2s for 2 known agents to reconnect (the master has just started)\r\x1b[K",
  );
});
