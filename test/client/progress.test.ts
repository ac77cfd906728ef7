import { expect, test } from "bun:test";
import { ProgressLine, progressText } from "../../lib/client/progress.ts";

function stream(isTTY: boolean) {
  const out = { isTTY, written: "", write(s: string) { out.written += s; return true; } };
  return out;
}

test("the progress text says time and hosts done", () => {
  expect(progressText({ elapsed: 3.7, done: 12, total: 40 })).toBe("working 3s: 12/40 hosts done");
});

test("on a terminal the line is rewritten in place and erased before the report", () => {
  const tty = stream(true);
  const p = new ProgressLine(tty);
  p.update({ elapsed: 1.2, done: 1, total: 3 });
  p.update({ elapsed: 2.4, done: 2, total: 3 });
  p.clear();
  expect(tty.written).toBe("\r\x1b[Kworking 1s: 1/3 hosts done\r\x1b[Kworking 2s: 2/3 hosts done\r\x1b[K");
});

test("piped output gets no progress line at all", () => {
  const pipe = stream(false);
  const p = new ProgressLine(pipe);
  p.update({ elapsed: 5, done: 1, total: 2 });
  p.clear();
  expect(pipe.written).toBe("");
});

test("the master's wait for its agents after its start is said on a terminal and, once per notice, on a pipe", () => {
  const waiting = { elapsed: 0, done: 0, total: 0, waiting: { agents: 2, ms: 4200 } };
  expect(progressText(waiting)).toBe("waiting up to 4.2s for 2 known agents to reconnect (the master has just started)");
  const pipe = stream(false);
  new ProgressLine(pipe).update(waiting);
  expect(pipe.written).toBe("waiting up to 4.2s for 2 known agents to reconnect (the master has just started)\n");
  const tty = stream(true);
  const p = new ProgressLine(tty);
  p.update(waiting);
  p.clear();
  expect(tty.written).toBe("\r\x1b[Kwaiting up to 4.2s for 2 known agents to reconnect (the master has just started)\r\x1b[K");
});
