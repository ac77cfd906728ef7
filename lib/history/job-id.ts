// Job ids: YYYYMMDD-HHMMSS-NNNN in UTC, NNNN counting the jobs started within
// that second by this process (past 9999 the id borrows the next second), so
// ids sort as the jobs started and say when; `-TAG` after it on a master that
// shares its history (PostgreSQL) with others. Also the `--since 2d` parser.
// Pure apart from the clock passed in.

import { UsageError } from "../errors.ts";

/** Makes ids later than every id it made before (a clock that steps back does not make an older id). */
export class JobIds {
  private lastSecond = 0;
  private seq = 0;

  next(now = Date.now()): string {
    let second = Math.floor(now / 1000);
    if (second <= this.lastSecond) {
      second = this.lastSecond;
      this.seq++;
      if (this.seq > 9999) {
        second++;
        this.seq = 0;
      }
    } else this.seq = 0;
    this.lastSecond = second;
    return jobIdAt(second * 1000, this.seq);
  }
}

const ids = new JobIds();

/** A new job id of this process. */
export function newJobId(now = Date.now()): string {
  return ids.next(now);
}

/** The id of the `seq`th job started in the second of `ms`. */
export function jobIdAt(ms: number, seq = 0): string {
  return `${stamp(ms)}-${String(seq).padStart(4, "0")}`;
}

/** The smallest id a job started at `ms` or later can have. */
export function idAt(ms: number): string {
  return jobIdAt(ms, 0);
}

function stamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-03T12:45:01.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** A job id; masters sharing a PostgreSQL history add a tag of their own (`-a3f9`), so that two never make the same id. */
export const JOB_ID = /^\d{8}-\d{6}-\d{4}(-[0-9a-f]{4})?$/;

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** `90s`, `15m`, `12h`, `2d`, `1w` → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text);
  if (!m)
    throw new UsageError(
      `${what} must be a number and a unit (s, m, h, d, w), e.g. 2d; got ${JSON.stringify(text)}`,
    );
  return Number(m[1]) * UNITS[m[2]!]!;
}
