// An apply's results as they come (ApplyRequest.live): each host's block
// printed when that host is done, in completion order, then the hosts the
// client did not get live (an event too large to send) and the tail; and the
// --json-stream events. Pure: lines and objects for cmd/apply.ts to write.
//
// At -vv each command's line is printed as its call ends on the agent, whatever
// host it comes from, prefixed with its host and role (as `salty run` prefixes
// output): `web1| role:nginx {"cmd":...}`; the host's block then comes at its
// end with the commands not printed yet (none unless the agent could not
// stream them), so every line is printed once:
//   web1| role:nginx {"cmd":"copy(nginx/mime.types, /etc/mime.types)","rc":0,...}
//   web2| role:nginx {"cmd":"copy(nginx/mime.types, /etc/mime.types)","rc":0,...}
//   host:web1 elapsed:0.009 errors:0 changed:1
//     role:nginx elapsed:0.009 errors:0 changed:1
//
// --json-stream schema, version 1 (one JSON object per line, each with `v: 1` and `type`):
//   {"v":1,"type":"job","job":ID}                                  first, when the master keeps a history
//   {"v":1,"type":"host_start","host":ID}
//   {"v":1,"type":"result","host":ID,"role":NAME,"result":{cmd,rc,changed,created?,elapsed,output?,error?,diff?}}
//   {"v":1,"type":"role_end","host":ID,"role":NAME,"skipped":BOOL,"elapsed":S,"errors":N,"changed":N,"output"?:TEXT}
//   {"v":1,"type":"host_end","host":ID,"status":"ran"|"missing"|"absent","elapsed":S,"errors":N,"changed":N}
//   {"v":1,"type":"batch_start","batch":N,"of":N,"hosts":[ID...]}       a rollout's batch (batch=, max_fail=, gate=)
//   {"v":1,"type":"batch_end","batch":N,"of":N,"failed":[ID...],"spent":N,"budget":N,"stopped"?:TEXT}
//   {"v":1,"type":"apply_end","rc":0|1,"elapsed":S,"hosts":N,"failed":N,"skipped":N,"job"?:ID,
//    "rollout"?:{"batches":N,"of":N,"failed":[ID...],"never_attempted":[ID...],"spent":N,"budget":N,"stopped"?:TEXT}}
// Each result comes as its call ends on the agent (in call order; those the
// agent could not stream, e.g. a failure before the role ran, come just
// before their role_end); fields may be added within version 1, never
// removed or changed.

import type { Result } from "salty";
import type {
  ApplyEvent,
  ApplyReport,
  HostReport,
  RoleOutcome,
  RolloutSummary,
} from "../wire/api.ts";
import { formatHead, formatHostBlock, formatTail, resultLines, type Line } from "./format.ts";

export const JSON_STREAM_VERSION = 1;

export class LiveReport {
  private printed = new Set<string>();
  private started = false;
  /** Results printed as they came (-vv), per host and role: its block leaves them out. */
  private streamed = new Map<string, number>();

  constructor(
    private verbosity: number,
    private opts: { dryRun?: boolean; target?: string },
  ) {}

  /** The banner and blank line, once, before the first host (none when the apply fails before any host). */
  private head(): Line[] {
    if (this.started) return [];
    this.started = true;
    return formatHead(this.opts);
  }

  /** Whether to ask the master for each result as it comes (ApplyRequest.live "roles"), not only each host's end. */
  get wantsResults(): boolean {
    return this.verbosity >= 2;
  }

  event(e: ApplyEvent): Line[] {
    if (e.type === "result") return this.result(e.host, e.role, e.result);
    if (e.type !== "host_end" || this.printed.has(e.host.id)) return [];
    const block = this.block(e.host);
    return block.length ? [...this.head(), ...block] : [];
  }

  /** The hosts not printed yet (in the report's order), then the tail. */
  end(report: ApplyReport): Line[] {
    const rest = report.hosts.filter((h) => h.status !== "skipped" && !this.printed.has(h.id));
    return [
      ...this.head(),
      ...rest.flatMap((h) => this.block(h)),
      ...formatTail(report, this.opts),
    ];
  }

  private block(h: HostReport): Line[] {
    this.printed.add(h.id);
    return formatHostBlock(h, this.verbosity, (role) => this.streamed.get(`${h.id}\0${role}`) ?? 0);
  }

  private result(host: string, role: string, r: Result): Line[] {
    if (!this.wantsResults || this.printed.has(host)) return [];
    const key = `${host}\0${role}`;
    this.streamed.set(key, (this.streamed.get(key) ?? 0) + 1);
    const [line, ...diff] = resultLines(r, this.verbosity, `${host}| role:${role} `);
    return [
      ...this.head(),
      ...(line ? [line] : []),
      ...diff.map((l) => ({ ...l, text: `${host}| ${l.text}` })),
    ];
  }
}

type Out = Record<string, unknown>;

export class JsonStream {
  private rolesSeen = new Map<string, Set<string>>();
  private hostsEnded = new Set<string>();
  /** Results already printed live, per host and role: role_end prints only the rest. */
  private streamed = new Map<string, number>();

  private line(o: Out): Out {
    return { v: JSON_STREAM_VERSION, ...o };
  }

  job(id: string): Out[] {
    return [this.line({ type: "job", job: id })];
  }

  event(e: ApplyEvent): Out[] {
    if (e.type === "host_start") return [this.line({ type: "host_start", host: e.host })];
    if (e.type === "result") {
      const key = `${e.host}\0${e.role}`;
      this.streamed.set(key, (this.streamed.get(key) ?? 0) + 1);
      return [this.line({ type: "result", host: e.host, role: e.role, result: e.result })];
    }
    if (e.type === "role_end") return this.role(e.host, e.role);
    if (e.type === "batch_start" || e.type === "batch_end") return [this.line({ ...e })];
    return this.hostEnd(e.host);
  }

  end(report: ApplyReport, job?: string): Out[] {
    const rest = report.hosts
      .filter((h) => h.status !== "skipped" && !this.hostsEnded.has(h.id))
      .flatMap((h) => this.hostEnd(h));
    const counted = report.hosts.filter((h) => h.status !== "skipped");
    return [
      ...rest,
      this.line({
        type: "apply_end",
        rc: report.rc,
        elapsed: report.elapsed,
        hosts: counted.length,
        failed: counted.filter((h) => h.errors > 0).length,
        skipped: report.hosts.length - counted.length,
        ...(job ? { job } : {}),
        ...(report.rollout ? { rollout: rolloutEnd(report.rollout) } : {}),
      }),
    ];
  }

  private role(host: string, r: RoleOutcome): Out[] {
    let seen = this.rolesSeen.get(host);
    if (!seen) this.rolesSeen.set(host, (seen = new Set()));
    if (seen.has(r.role)) return [];
    seen.add(r.role);
    const already = this.streamed.get(`${host}\0${r.role}`) ?? 0;
    return [
      ...r.results
        .slice(already)
        .map((result) => this.line({ type: "result", host, role: r.role, result })),
      this.line({
        type: "role_end",
        host,
        role: r.role,
        skipped: r.skipped,
        elapsed: r.elapsed,
        errors: r.errors,
        changed: r.changed,
        ...(r.output ? { output: r.output } : {}),
      }),
    ];
  }

  /** The roles not reported live (skipped, failed before the agent, handlers), then the host's end. */
  private hostEnd(h: HostReport): Out[] {
    if (this.hostsEnded.has(h.id)) return [];
    this.hostsEnded.add(h.id);
    return [
      ...h.roles.flatMap((r) => this.role(h.id, r)),
      this.line({
        type: "host_end",
        host: h.id,
        status: h.status,
        elapsed: h.elapsed,
        errors: h.errors,
        changed: h.changed,
      }),
    ];
  }
}

function rolloutEnd(r: RolloutSummary): Out {
  return {
    batches: r.batches.length,
    of: r.planned,
    failed: r.failed,
    never_attempted: r.neverAttempted,
    spent: r.spent,
    budget: r.budget,
    ...(r.stopped ? { stopped: r.stopped } : {}),
  };
}
