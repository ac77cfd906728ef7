// The hosts outside an apply's target in its reply. An apply to 1,000 hosts
// of a 10,000-host inventory reports the other 9,000 as `skipped`, each the
// same empty report but for its id; a client that says it can put them back
// (ApplyRequest.slimOutside) gets their ids and places instead (`outside`),
// and rebuilds the very report the master made, so that what it prints (the
// `skipped N hosts outside target=…` line, `--json`) is unchanged. The job
// history keeps the whole report. Pure.

import { SaltyError } from "../errors.ts";
import type { ApplyReport, HostReport } from "./api.ts";

/** The one shape a host outside the target has (scheduler.ts), its keys in this order. */
const outsideHost = (id: string): HostReport => ({
  id,
  status: "skipped",
  elapsed: 0,
  errors: 0,
  changed: 0,
  roles: [],
});
const KEYS = Object.keys(outsideHost("")).join(",");

function isOutside(h: HostReport): boolean {
  return (
    h.status === "skipped" &&
    h.elapsed === 0 &&
    h.errors === 0 &&
    h.changed === 0 &&
    h.roles.length === 0 &&
    Object.keys(h).join(",") === KEYS
  );
}

/** The master's side: the hosts outside the target as ids at their places (the report itself when there are none). */
export function slimOutside(report: ApplyReport): ApplyReport {
  const at: number[] = [];
  const ids: string[] = [];
  const hosts = report.hosts.filter((h, i) => {
    if (!isOutside(h)) return true;
    at.push(i);
    ids.push(h.id);
    return false;
  });
  return ids.length ? { ...report, hosts, outside: { at, ids } } : report;
}

/** The client's side: the report as the master made it, every host outside the target back at its place. */
export function withOutside(reply: ApplyReport): ApplyReport {
  const o = reply.outside;
  if (o === undefined) return reply;
  const total = reply.hosts.length + (Array.isArray(o.ids) ? o.ids.length : 0);
  const fine =
    Array.isArray(o.at) &&
    Array.isArray(o.ids) &&
    o.at.length === o.ids.length &&
    o.ids.every((id) => typeof id === "string") &&
    o.at.every(
      (n, i) => Number.isInteger(n) && n >= 0 && n < total && (i === 0 || n > o.at[i - 1]!),
    );
  if (!fine)
    throw new SaltyError(
      "the master's reply lists its hosts outside the target badly",
      "E_PROTOCOL",
    );
  const hosts: HostReport[] = [];
  let ran = 0;
  let next = 0;
  for (let i = 0; i < total; i++) {
    if (next < o.at.length && o.at[next] === i) hosts.push(outsideHost(o.ids[next++]!));
    else hosts.push(reply.hosts[ran++]!);
  }
  const { outside: _, ...report } = reply;
  return { ...report, hosts };
}
