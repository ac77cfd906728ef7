// The hosts outside an apply's target in its reply. An apply to 1,000 hosts
// of a 10,000-host inventory reports the other 9,000 as `skipped`, each the
// same empty report but for its id; a client that says it can put them back
// (ApplyRequest.slimOutside) gets their ids and places instead (`outside`),
// and rebuilds the very report the master made, so that what it prints (the
// `skipped N hosts outside target=…` line, `--json`) is unchanged. The job
// history keeps them the same way (history/store.ts). Pure.

import { SaltyError } from "../errors.ts";
import type { ApplyReport, HostReport } from "./api.ts";

/** The one shape a host outside the target has (scheduler.ts), its keys in this order. */
export const outsideHost = (id: string): HostReport => ({
  id,
  status: "skipped",
  elapsed: 0,
  errors: 0,
  changed: 0,
  roles: [],
});
const KEYS = Object.keys(outsideHost("")).join(",");

/** Whether `h` is exactly a host outside the target (anything else, even "skipped", is a report of its own). */
export function isOutside(h: HostReport): boolean {
  return (
    h.status === "skipped" &&
    h.elapsed === 0 &&
    h.errors === 0 &&
    h.changed === 0 &&
    h.roles.length === 0 &&
    Object.keys(h).join(",") === KEYS
  );
}

/** Hosts outside the target as ids at their places in a list, and the list's other entries. */
export interface Outside {
  at: number[];
  ids: string[];
}

/** Split `list` into its entries outside the target (as ids and places) and the rest; `report` reads an entry's report. */
export function splitOutside<T>(
  list: T[],
  report: (x: T) => HostReport,
): { rest: T[]; outside: Outside } {
  const at: number[] = [];
  const ids: string[] = [];
  const rest = list.filter((x, i) => {
    const h = report(x);
    if (!isOutside(h)) return true;
    at.push(i);
    ids.push(h.id);
    return false;
  });
  return { rest, outside: { at, ids } };
}

/** The master's side: the hosts outside the target as ids at their places (the report itself when there are none). */
export function slimOutside(report: ApplyReport): ApplyReport {
  const { rest, outside } = splitOutside(report.hosts, (h) => h);
  return outside.ids.length ? { ...report, hosts: rest, outside } : report;
}

/** `rest` with the hosts of `o` back at their places, each made by `make`; undefined when `o` does not fit `rest`. */
export function mergeOutside<T>(rest: T[], o: Outside, make: (id: string) => T): T[] | undefined {
  const total = rest.length + (Array.isArray(o.ids) ? o.ids.length : 0);
  const fine =
    Array.isArray(o.at) &&
    Array.isArray(o.ids) &&
    o.at.length === o.ids.length &&
    o.ids.every((id) => typeof id === "string") &&
    o.at.every(
      (n, i) => Number.isInteger(n) && n >= 0 && n < total && (i === 0 || n > o.at[i - 1]!),
    );
  if (!fine) return undefined;
  const out: T[] = [];
  let ran = 0;
  let next = 0;
  for (let i = 0; i < total; i++) {
    if (next < o.at.length && o.at[next] === i) out.push(make(o.ids[next++]!));
    else out.push(rest[ran++]!);
  }
  return out;
}

/** The client's side: the report as the master made it, every host outside the target back at its place. */
export function withOutside(reply: ApplyReport): ApplyReport {
  const o = reply.outside;
  if (o === undefined) return reply;
  const hosts = mergeOutside(reply.hosts, o, outsideHost);
  if (!hosts)
    throw new SaltyError(
      "the master's reply lists its hosts outside the target badly",
      "E_PROTOCOL",
    );
  const { outside: _, ...report } = reply;
  return { ...report, hosts };
}
