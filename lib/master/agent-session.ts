// The master's side of one authenticated agent connection: the handlers an
// agent may call (hello, facts, files, serverShell, ping), its entry in the
// registry while connected, and the keep-alive that notices it dying.

import type { Facts } from "salty";
import { validateFacts, type CheckedFacts } from "../facts/validate.ts";
import { SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { Rpc } from "../wire/rpc.ts";
import { fromAgent } from "../wire/inbound.ts";
import { keepAlive } from "../wire/keepalive.ts";
import {
  FILE_METHOD_NAMES,
  callFile,
  fileHandlers,
  type FileProtocol,
} from "../wire/file-methods.ts";
import type { FrameLink } from "../wire/link.ts";
import type { AgentApi, MasterApi } from "../wire/api.ts";
import { serveServerShell, type ServerShell } from "./server-shell.ts";
import { int, obj, str } from "../wire/check.ts";
import { limits } from "../constants.ts";
import type { FileServer } from "./fileserver.ts";
import { AgentSession } from "./connected-agent.ts";
import type { Registry } from "./registry.ts";
import type { Capabilities } from "../wire/api.ts";
import type { ApplyMe } from "./scheduled.ts";
import type { PullReport } from "./pull-report.ts";

export interface MasterDeps {
  registry: Registry;
  files: FileServer;
  /** Present only when the master runs with --allow-server-shell. */
  serverShell?: ServerShell;
  version: string;
  /** The daemon's scheduled applies (scheduled.ts); absent (bootstrap, pull): refused. */
  applyMe?: ApplyMe;
  /** The daemon's recorder of pull reports (pull-report.ts); absent: refused. */
  pullReport?: PullReport;
}

/** The longest period of scheduled applies a hello may announce (30 days); shorter than a second is no period. */
function applyEvery(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1000 && v <= 30 * 86_400_000
    ? v
    : undefined;
}

const NO_ROLES: ReadonlySet<string> = new Set();

/** An agent's facts travel in every other host's role context: a few kB in practice, never megabytes.
 * They are claims of the host: checked against their schema (facts/validate.ts), what does not fit dropped. */
function checkFacts(v: unknown): CheckedFacts {
  const facts = obj(v, "facts");
  const size = Buffer.byteLength(JSON.stringify(facts));
  if (size > limits.maxFactsBytes)
    throw new SaltyError(
      `facts of ${size} bytes exceed the limit of ${limits.maxFactsBytes}`,
      "E_PARAMS",
    );
  return validateFacts(facts);
}

/** What the agent says it can do; anything but `true` for a known name counts as no. */
function capabilities(v: unknown): Capabilities {
  const o =
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  return {
    pipelining: o.pipelining === true,
    sharedHosts: o.sharedHosts === true,
    knownFiles: o.knownFiles === true,
    hostsOnDemand: o.hostsOnDemand === true,
  };
}

export function serveAgent(
  link: FrameLink,
  id: string,
  deps: MasterDeps,
): Rpc<MasterApi, AgentApi> {
  let session: AgentSession | undefined;
  // Files only while one of its role runs is in progress: never before its hello, never between applies.
  const base = deps.files.sourceFor(
    () => session?.secretRoles() ?? NO_ROLES,
    () => session?.running ?? false,
  );
  // During a deploy's apply the agent reads that release's fileroot only (connected-agent.ts startApply).
  const source = Object.fromEntries(
    FILE_METHOD_NAMES.map((m) => [
      m,
      (...args: unknown[]) => callFile(session?.currentFiles ?? base, m, args),
    ]),
  ) as unknown as FileProtocol;
  let droppedNote = "";
  /** The checked facts; what was dropped is logged once, not at every refresh. */
  const claimed = (v: unknown): Facts => {
    const { facts, dropped } = checkFacts(v);
    const note = dropped.join("; ");
    if (note && note !== droppedNote)
      log("agent.facts_dropped", { id, dropped: note.slice(0, 2000) });
    droppedNote = note;
    return facts;
  };
  const rpc: Rpc<MasterApi, AgentApi> = new Rpc<MasterApi, AgentApi>(
    link,
    {
      "agent.hello": (p) => {
        const hello = obj(p, "hello");
        session = new AgentSession(
          id,
          rpc,
          link.peer,
          claimed(hello.facts),
          str(hello.version, "version"),
          capabilities(hello.capabilities),
        );
        session.files = base;
        const every = applyEvery(hello.applyEvery);
        if (every) session.applyEvery = every;
        deps.registry.add(session);
        return { masterVersion: deps.version };
      },
      "agent.facts": (p) => {
        if (session) session.facts = claimed(obj(p, "params").facts);
        return null;
      },
      ...fileHandlers(source),
      "server.shell": (p) => {
        if (!deps.serverShell)
          throw new SaltyError(
            "serverShell is refused: the master runs without --allow-server-shell",
            "E_DENIED",
          );
        if (!session?.running)
          throw new SaltyError("serverShell is refused outside a role run", "E_DENIED");
        return serveServerShell(deps.serverShell, p, { id, roles: session.secretRoles() });
      },
      // Only what a request of its apply in progress was sent without (shared-hosts.ts), only while one of its roles runs.
      "hosts.fetch": (p) => {
        if (!session?.running)
          throw new SaltyError("shared hosts are served only during a role run", "E_DENIED");
        return session.sharedHosts.fetch(str(obj(p, "params").digest, "digest"));
      },
      // Untrusted: checked by the apply that asked for them (live-results.ts); dropped when none did.
      "role.result": (p) => {
        session?.roleResults?.(p);
        return null;
      },
      // Untrusted: a chunk for no run of this agent is dropped; size, order and rate are checked by the run (adhoc-run.ts).
      "cmd.output": (p) => {
        const o = obj(p, "cmd.output");
        const data = str(o.data, "data");
        if (data.length > limits.runChunkBytes + 16)
          throw new SaltyError(
            `cmd.output of ${data.length} characters exceeds ${limits.runChunkBytes}`,
            "E_PARAMS",
          );
        session?.outputs?.get(str(o.run, "run"))?.({ seq: int(o.seq, "seq"), data });
        return null;
      },
      // Untrusted: the agent says "now" and nothing else; what runs, where and how often the master decides (scheduled.ts).
      "agent.applyMe": (p) => {
        if (!deps.applyMe || !session)
          throw new SaltyError(
            "scheduled applies are refused: this master does not run them",
            "E_DENIED",
          );
        return deps.applyMe(id, p);
      },
      // Recorded for this connection's own id only, whatever the report says (pull-report.ts). No hello needed:
      // `salty pull --report` is not an agent session and must not replace one of the same id.
      "agent.report": (p) => {
        if (!deps.pullReport)
          throw new SaltyError(
            "pull reports are refused: this master keeps no job history",
            "E_DENIED",
          );
        return deps.pullReport(id, p);
      },
      ping: () => null,
    },
    fromAgent,
    // Every agent pings every 10 s (keepalive.ts): measured as every request is, but not decoded (as on the agent).
    { ping: async () => null },
  );
  // The registry logs the end of a registered session; one that ends before its hello (a protocol error) is logged here.
  rpc.onClose((reason) =>
    session
      ? deps.registry.remove(session, reason)
      : log("agent.closed_before_hello", { id, peer: link.peer, reason }),
  );
  // The agent pings; the master watches (keepalive.ts).
  keepAlive(rpc, { watch: true });
  return rpc;
}
