// Handlers: notify("nginx", "reload") queues an action that runs once, at the
// end of the host's apply, after all its roles, in first-notified order;
// `restart` absorbs `reload` of the same service. A queued action is owed
// until it ran: it is saved in a journal (the agent's keyroot, see
// agent/handler-journal.ts) the moment it is queued, so an apply that fails or
// an agent that dies leaves it for the next apply, which runs it even if
// nothing else changes. A dry run lists what it would run and saves nothing.
//
// HostState is what an agent keeps per host across roles: the handlers and,
// for one apply, the init system's unit states (read once per apply).

import type { Result } from "salty";
import { errorMessage } from "../errors.ts";
import type { Exec } from "../sys/types.ts";
import { handlerArgv, type Init, type UnitState } from "./_init-commands.ts";

export type Action = "reload" | "restart";

export interface Owed {
  service: string;
  action: Action;
  init: Init;
}

/** Where owed handlers are kept between applies; none: in memory only (tests, bootstrap without a keyroot). */
export interface Journal {
  load(): Promise<Owed[]>;
  /** Atomically: the whole list, or removed when empty. */
  save(owed: Owed[]): Promise<void>;
}

/** `list` with `h` added: deduplicated, restart absorbing reload in place; undefined when nothing changes. Pure. */
export function enqueue(list: readonly Owed[], h: Owed): Owed[] | undefined {
  const i = list.findIndex((o) => o.service === h.service && o.init === h.init);
  if (i < 0) return [...list, h];
  if (list[i]!.action === "restart" || h.action === list[i]!.action) return undefined;
  return list.map((o, j) => (j === i ? { ...o, action: "restart" as const } : o));
}

const label = (o: Owed) => `${o.action} ${o.service}`;

export class Handlers {
  private owed: Owed[] | undefined;
  /** A dry run's queue: what it would add to the owed ones. */
  private dry: Owed[] | undefined;

  constructor(private readonly journal?: Journal) {}

  private async list(): Promise<Owed[]> {
    return (this.owed ??= this.journal ? await this.journal.load() : []);
  }

  /** Queue `h`; in a dry run only for this run's listing. Says what happened, for the notify result. */
  async queue(h: Owed, dryRun: boolean): Promise<string> {
    const now = dryRun ? (this.dry ??= [...(await this.list())]) : await this.list();
    const next = enqueue(now, h);
    if (!next) return `${label(h)}: already queued`;
    if (dryRun) this.dry = next;
    else {
      await this.journal?.save(next);
      this.owed = next;
    }
    return `queued: ${label(h)} (runs at the end of the apply)`;
  }

  /**
   * The service was just started or restarted (service()): what was queued for it before is done, since the
   * process it started already reads what changed. A dry run forgets it from its own listing only.
   */
  async satisfied(service: string, init: Init, dryRun: boolean): Promise<void> {
    const keep = (list: Owed[]) => list.filter((o) => !(o.service === service && o.init === init));
    if (dryRun) {
      this.dry = keep(this.dry ?? (await this.list()));
      return;
    }
    const now = await this.list();
    const next = keep(now);
    if (next.length === now.length) return;
    await this.journal?.save(next);
    this.owed = next;
  }

  /** Nothing queued or owed (then the end of an apply costs nothing). */
  async idle(dryRun: boolean): Promise<boolean> {
    return (dryRun ? (this.dry ?? (await this.list())) : await this.list()).length === 0;
  }

  /** Run what is owed, in order; what fails stays owed. One Result per handler. */
  async run(exec: Exec, dryRun: boolean): Promise<Result[]> {
    if (dryRun) {
      const would = this.dry ?? (await this.list());
      this.dry = undefined;
      return would.map((o) => ({
        cmd: `handler(${label(o)})`,
        rc: 0,
        changed: true,
        elapsed: 0,
        output: `would ${label(o)}`,
      }));
    }
    const owed = await this.list();
    if (owed.length === 0) return [];
    const results: Result[] = [];
    const left: Owed[] = [];
    for (const o of owed) {
      const t0 = performance.now();
      const argv = handlerArgv(o.init, o.service, o.action);
      const r: Result = { cmd: `handler(${label(o)})`, rc: 0, changed: true, elapsed: 0 };
      try {
        const got = await exec(argv, { timeoutMs: 5 * 60_000 });
        if (got.output) r.output = got.output;
        if (got.rc !== 0)
          Object.assign(r, {
            rc: got.rc,
            error: `handler(${label(o)}): ${argv.join(" ")} failed (rc ${got.rc}): ${got.output.trim()}`,
          });
      } catch (err) {
        Object.assign(r, { rc: 1, error: `handler(${label(o)}): ${errorMessage(err)}` });
      }
      if (r.rc !== 0) left.push(o);
      r.elapsed = Math.round((performance.now() - t0) * 1000) / 1e6;
      results.push(r);
    }
    await this.journal?.save(left);
    this.owed = left;
    return results;
  }
}

const MAX_KNOWN_UNITS = 256;

/** What an agent keeps for its host across roles and applies. */
export class HostState {
  readonly handlers: Handlers;
  private applyId = "";
  /** The init system's unit states, read once per apply (service.ts). */
  units: Map<string, UnitState> | undefined;
  /** Every unit service() was asked about (at most MAX_KNOWN_UNITS): asked for together at an apply's first call. */
  readonly knownUnits = new Set<string>();

  constructor(journal?: Journal) {
    this.handlers = new Handlers(journal);
  }

  remember(unit: string): void {
    if (this.knownUnits.size < MAX_KNOWN_UNITS) this.knownUnits.add(unit);
  }

  /** A role of apply `id` starts: what was read during another apply is forgotten. */
  begin(id: string | undefined): void {
    if (id === undefined || id !== this.applyId) this.units = undefined;
    this.applyId = id ?? "";
  }
}
