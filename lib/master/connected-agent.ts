// One connected agent as the master keeps it while its connection lasts: what
// it said at hello (facts, version, capabilities), the apply in progress on it
// (which roles' secrets it may read, how many roles run now) and the
// per-connection round-trip savers (known hashes, shared hosts held). All
// per-connection state lives here, behind named methods.

import type { Facts } from "salty";
import type { AgentApi, Capabilities, MasterApi } from "../wire/api.ts";
import type { Rpc } from "../wire/rpc.ts";
import type { AgentFiles, FileServer } from "./fileserver.ts";
import { KnownFiles } from "./known-files.ts";
import { SharedHostsSent } from "./shared-hosts.ts";

const NONE: ReadonlySet<string> = new Set();

export class AgentSession {
  readonly connected = new Date();
  /** The hashes of what each role fetched last time on this connection. */
  readonly known = new KnownFiles();
  /** The shared hosts this connection holds. */
  readonly sharedHosts = new SharedHostsSent();
  /** The fileroot as this agent may see it. */
  files?: AgentFiles;
  /** `salty run` commands running on it, by run id: where its cmd.output notifications go (adhoc-run.ts). */
  outputs?: Map<string, (o: { seq: number; data: string }) => void>;
  /** While an apply whose client wants live results runs on it: where its role.result notifications go (live-results.ts). */
  roleResults?: (p: unknown) => void;
  /** The period of its scheduled applies as its hello says (`salty agent --apply-every`), and when it last asked for one (scheduled.ts). */
  applyEvery?: number;
  scheduledAt?: Date;
  private applyRoles: ReadonlySet<string> = NONE;
  private scoped: AgentFiles | undefined;
  private roles = 0;

  constructor(
    readonly id: string,
    readonly rpc: Rpc<MasterApi, AgentApi>,
    readonly peer: string,
    public facts: Facts,
    readonly version: string,
    private readonly capabilities: Capabilities,
  ) {}

  /** What the agent said it can do at hello (an older build says less: the master then does without). */
  can(capability: keyof Capabilities): boolean {
    return this.capabilities[capability] === true;
  }

  /**
   * An apply of these roles starts on this agent: their .enc files become readable to it. `fileroot`:
   * the apply's own fileroot (a deploy's release, lib/deploy/): until endApply the agent reads that
   * one and nothing of the base fileroot.
   */
  startApply(roles: readonly string[], fileroot?: FileServer): void {
    this.applyRoles = new Set(roles);
    this.scoped = fileroot?.sourceFor(
      () => this.applyRoles,
      () => this.running,
    );
  }

  endApply(): void {
    this.applyRoles = NONE;
    this.scoped = undefined;
    this.sharedHosts.endApply();
  }

  /** What its file requests read now: the apply's own fileroot, else the base one. */
  get currentFiles(): AgentFiles | undefined {
    return this.scoped ?? this.files;
  }

  /** The roles of the apply in progress: the .enc files this agent may read, the serverShell calls it may make. */
  secretRoles(): ReadonlySet<string> {
    return this.applyRoles;
  }

  roleStarted(): void {
    this.roles++;
  }

  roleEnded(): void {
    this.roles--;
  }

  /** Whether one of its role runs is in progress: files and serverShell are served only then. */
  get running(): boolean {
    return this.roles > 0;
  }

  /** How many role requests are out to it now. */
  get roleCount(): number {
    return this.roles;
  }
}
