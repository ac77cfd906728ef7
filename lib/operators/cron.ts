// cron(name, {schedule, command, user, state}): one entry in its own file,
// /etc/cron.d/NAME (0644, root), checked before it is written: a name cron
// reads (run-parts skips names with dots), five schedule fields in range or an
// @keyword, a one-line command without an unescaped % (cron would cut it
// there). `state: "absent"` removes the file.

import type { CronOpts } from "salty";
import { SaltyError } from "../errors.ts";
import { hashBytes } from "../sys/hash.ts";
import { current, planContent } from "./_file.ts";
import { resolveOwner } from "./_owner.ts";
import { destination } from "./_paths.ts";
import type { OpCtx, Operator } from "./types.ts";
import { checkName } from "./useradd.ts";

const KEYWORDS = [
  "@reboot",
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS: { name: string; min: number; max: number; names?: string[]; base?: number }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, base: 1 },
  { name: "day of week", min: 0, max: 7, names: DAYS, base: 0 },
];

/** A cron.d file name: letters, digits, "_" and "-" (run-parts, which Debian's cron follows, skips others). */
export function checkCronName(name: unknown): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new SaltyError(
      `cron name must be letters, digits, "_" or "-" (cron skips files named otherwise, a "." too): ${JSON.stringify(name)}`,
      "E_ARG",
    );
  }
  return name;
}

function value(word: string, f: (typeof FIELDS)[number]): number {
  const named = f.names?.indexOf(word.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + f.base! : /^\d+$/.test(word) ? Number(word) : Number.NaN;
  if (!(n >= f.min && n <= f.max))
    throw new SaltyError(`cron ${f.name} out of range (${f.min}-${f.max}): ${word}`, "E_ARG");
  return n;
}

/** Five fields (minute hour day-of-month month day-of-week) in range, or an @keyword; normalized to single spaces. */
export function checkSchedule(schedule: unknown): string {
  if (typeof schedule !== "string")
    throw new SaltyError('schedule must be a string such as "*/5 * * * *" or "@daily"', "E_ARG");
  const words = schedule.trim().split(/\s+/);
  if (words.length === 1 && KEYWORDS.includes(words[0]!)) return words[0]!;
  if (words.length !== 5)
    throw new SaltyError(
      `schedule must have five fields (minute hour day month weekday) or be one of ${KEYWORDS.join(" ")}: ${JSON.stringify(schedule)}`,
      "E_ARG",
    );
  words.forEach((w, i) => {
    const f = FIELDS[i]!;
    for (const item of w.split(",")) {
      const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
      if (!m) throw new SaltyError(`cron ${f.name} is not valid: ${JSON.stringify(w)}`, "E_ARG");
      if (m[1] !== "*") {
        const [a, b] = m[1]!.split("-");
        const lo = value(a!, f);
        if (b !== undefined && value(b, f) < lo)
          throw new SaltyError(`cron ${f.name} range is backwards: ${item}`, "E_ARG");
      }
      if (m[2] !== undefined && Number(m[2]) < 1)
        throw new SaltyError(`cron ${f.name} step must be at least 1: ${item}`, "E_ARG");
    }
  });
  return words.join(" ");
}

/** A one-line command; an unescaped % is refused (cron turns it into a newline and cuts the command there). */
export function checkCommand(command: unknown): string {
  if (typeof command !== "string" || command.trim() === "")
    throw new SaltyError("command must be a non-empty string", "E_ARG");
  if (/[\n\r\0]/.test(command))
    throw new SaltyError("command must be one line (no newline)", "E_ARG");
  if (/(^|[^\\])%/.test(command))
    throw new SaltyError(
      `command has an unescaped % (cron makes it a newline): write \\% : ${command}`,
      "E_ARG",
    );
  return command;
}

/** The file's text (pure). */
export function cronFile(name: string, schedule: string, user: string, command: string): string {
  return `# salty: cron(${name})\n${schedule} ${user} ${command}\n`;
}

const encoder = new TextEncoder();

export const cron: Operator<[name: string, opts: CronOpts]> = {
  describe: (name, opts) => `cron(${name}${opts?.state === "absent" ? ", absent" : ""})`,
  async plan(ctx: OpCtx, name, opts) {
    checkCronName(name);
    if (!opts || typeof opts !== "object")
      throw new SaltyError("cron needs its options: { schedule, command }", "E_ARG");
    const dest = destination(ctx, `/etc/cron.d/${name}`);
    if (opts.state !== undefined && opts.state !== "present" && opts.state !== "absent")
      throw new SaltyError(
        `state must be "present" or "absent", not ${JSON.stringify(opts.state)}`,
        "E_ARG",
      );
    if (opts.state === "absent") {
      const st = await ctx.observe.lstat(dest.real);
      return st
        ? { changes: [{ kind: "remove", path: dest.path }], created: false }
        : { changes: [], created: false, note: `${dest.path} is absent` };
    }
    const schedule = checkSchedule(opts.schedule);
    const command = checkCommand(opts.command);
    const user = checkName(opts.user ?? "root");
    if (!(await ctx.users.user(user))) throw new SaltyError(`no such user: ${user}`, "E_NO_USER");
    const owner = await resolveOwner(ctx, { user: "root" });
    const data = encoder.encode(cronFile(name, schedule, user, command));
    const now = await current(ctx, dest);
    const plan = await planContent(
      ctx,
      dest,
      now,
      { hash: hashBytes(data), size: data.length, data },
      0o644,
      owner,
    );
    if (!plan.changes.length) plan.note = "the entry is in place";
    return plan;
  },
};
