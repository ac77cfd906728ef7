// A unified diff of two texts (as `diff -u` prints it), for --diff. Myers'
// O(ND) algorithm on lines after trimming the common head and tail; past
// MAX_D edits it gives up on finding the shortest script and shows the
// differing middle as replaced (still a correct diff). Pure: no I/O.

const MAX_D = 1500;

type Op = { t: " " | "-" | "+"; line: string };

/** Lines with their "\n" kept; the last one may lack it. */
function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n").map((l) => `${l}\n`);
  const last = lines.pop()!;
  if (last !== "\n") lines.push(last.slice(0, -1));
  return lines;
}

/** The state of V before step d, for k in [-d-1, d+1]. */
function snapshot(v: Int32Array, offset: number, d: number): Int32Array {
  return v.slice(offset - d - 1, offset + d + 2);
}

function myers(a: string[], b: string[]): Op[] | undefined {
  const n = a.length,
    m = b.length,
    max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= Math.min(max, MAX_D); d++) {
    trace.push(snapshot(v, offset, d));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) x++, y++;
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d);
    }
  }
  return undefined;
}

function backtrack(a: string[], b: string[], trace: Int32Array[], dEnd: number): Op[] {
  const ops: Op[] = [];
  let x = a.length,
    y = b.length;
  for (let d = dEnd; d >= 0; d--) {
    const v = trace[d]!;
    const at = (k: number) => v[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK),
      prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--, y--;
      ops.push({ t: " ", line: a[x]! });
    }
    if (d > 0) {
      if (x === prevX) ops.push({ t: "+", line: b[--y]! });
      else ops.push({ t: "-", line: a[--x]! });
    }
  }
  return ops.reverse();
}

function editScript(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const midA = a.slice(head, a.length - tail),
    midB = b.slice(head, b.length - tail);
  const mid = myers(midA, midB) ?? [
    ...midA.map((line) => ({ t: "-" as const, line })),
    ...midB.map((line) => ({ t: "+" as const, line })),
  ];
  const same = (lines: string[]) => lines.map((line) => ({ t: " " as const, line }));
  return [...same(a.slice(0, head)), ...mid, ...same(a.slice(a.length - tail))];
}

function range(start: number, len: number): string {
  if (len === 0) return `${start - 1},0`;
  return len === 1 ? `${start}` : `${start},${len}`;
}

function printLine(op: Op): string {
  const body = `${op.t}${op.line}`;
  return op.line.endsWith("\n") ? body : `${body}\n\\ No newline at end of file\n`;
}

/** `diff -u` of two texts; "" when they are equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  opts: { from: string; to: string; context?: number },
): string {
  if (oldText === newText) return "";
  const ctx = opts.context ?? 3;
  const ops = editScript(splitLines(oldText), splitLines(newText));
  const changed = ops.flatMap((op, i) => (op.t === " " ? [] : [i]));
  let out = `--- ${opts.from}\n+++ ${opts.to}\n`;
  // Line numbers (1-based) at each op index.
  const oldAt: number[] = [],
    newAt: number[] = [];
  let o = 1,
    n = 1;
  for (const op of ops) {
    oldAt.push(o), newAt.push(n);
    if (op.t !== "+") o++;
    if (op.t !== "-") n++;
  }
  let i = 0;
  while (i < changed.length) {
    let j = i;
    while (j + 1 < changed.length && changed[j + 1]! - changed[j]! <= 2 * ctx + 1) j++;
    const start = Math.max(0, changed[i]! - ctx),
      end = Math.min(ops.length, changed[j]! + ctx + 1);
    const hunk = ops.slice(start, end);
    const oldLen = hunk.filter((op) => op.t !== "+").length,
      newLen = hunk.filter((op) => op.t !== "-").length;
    out += `@@ -${range(oldAt[start]!, oldLen)} +${range(newAt[start]!, newLen)} @@\n`;
    for (const op of hunk) out += printLine(op);
    i = j + 1;
  }
  return out;
}
